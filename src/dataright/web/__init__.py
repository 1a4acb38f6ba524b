"""The HTTP door: ``create_app()``, shared dependencies, problem+json errors."""
