"""The composition root: settings → engine, index, pipeline, LLM client, services; the API and CLI."""
