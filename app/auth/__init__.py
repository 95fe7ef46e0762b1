"""Identity: passwords, tokens, the authenticated principal and the identity-provider interface."""
