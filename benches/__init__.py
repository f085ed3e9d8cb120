"""Benchmarks: each ``bench_*.py`` is a script comparing vumeter with the incumbent
(prometheus_client, numpy) side by side in one process. ``python -m benches`` runs all."""
