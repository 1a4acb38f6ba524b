"""Access control: API keys with scopes per controller.

A room of its own (not yet drawn in ARCHITECTURE.md): the web layer authenticates every non-public route
with it, the CLI manages keys. Keys are ``dr_<prefix>_<secret>`` tokens; only the SHA-256 of a token is
stored, the prefix finds the row and is safe to show in listings and logs.
"""
