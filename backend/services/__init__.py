"""What the product does. Plain arguments in, domain objects out; no flask.request."""
