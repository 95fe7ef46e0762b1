"""Use cases: each service owns one, over the components the container builds."""
