"""Cookies: the banner's configuration generated from the declaration, the vendored banner build, the
banner's public routes and demo site, and the cookie scanner."""
