"""The HTTP API: OpenAI-compatible ``/v1`` and the REST ``/api/v1``."""
