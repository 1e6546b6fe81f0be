"""Benchmarks: each figure in docs/benchmarks.md comes from a module here."""
