"""Cookies: the banner's configuration generated from the declaration, and the cookie scanner."""
