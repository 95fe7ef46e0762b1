"""Shared kernel: settings types and the SQL schema, used by every other package."""
