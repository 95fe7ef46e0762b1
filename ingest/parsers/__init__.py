"""Format parsers. Each turns raw bytes into a :class:`ingest.document.ParsedDocument`."""
