"""LLM access over the OpenAI protocol: client, embedded llama.cpp server, prompts and citations."""
