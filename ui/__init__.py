"""The Streamlit UI: a client of the HTTP API only."""
