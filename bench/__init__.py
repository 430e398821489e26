"""Benchmarks: ``python -m bench`` runs them all, prints tables and updates docs/performance.md."""
