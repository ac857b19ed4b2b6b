"""Model builders (the tiny local model used by tests and the demo)."""
