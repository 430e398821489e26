"""Piaojue protocol core (SPEC.md): pure Python, no web framework imports."""
