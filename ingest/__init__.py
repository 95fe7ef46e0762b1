"""Ingestion: turn office documents into clean, structured, chunked text for the index."""
