"""Plumbing that the load tests, the conformance suite and the benchmarks share: serving an
app for a run, the target a user names, timeouts. It never imports the reference app."""
