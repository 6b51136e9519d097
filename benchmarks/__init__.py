"""Performance measurements of the harness, run on purpose (not tests)."""
