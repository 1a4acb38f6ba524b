"""Connectors: one plugin interface (``base.Connector``) to the organisation's datastores and SaaS APIs."""
