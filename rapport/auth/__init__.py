"""Users, API keys, session tokens, scopes and the Authenticator dependency."""
