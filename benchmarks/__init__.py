"""Benchmarks, run by hand (not in CI); each prints its figures as one JSON line."""
