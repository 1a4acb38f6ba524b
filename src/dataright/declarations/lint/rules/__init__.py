"""One module per lint rule; ``dataright.declarations.lint.registry`` lists them."""
