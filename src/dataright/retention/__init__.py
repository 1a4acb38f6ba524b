"""Retention: what is due and why (policies), set-based sweeps in the datastores, the service that runs them."""
