"""The conformance suite: PROTOCOL.md as Hypothesis properties, against any server."""
