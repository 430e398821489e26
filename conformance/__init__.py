"""Conformance vectors for piaojue/1 record verifiers (see conformance/README.md)."""
