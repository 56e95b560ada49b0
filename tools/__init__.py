"""Tools around the product, never part of it: the app bench (``python -m tools.bench``), the load
test (``python -m tools.loadtest``) and protocol App's report block in docs/BENCHMARKS.md.

They depend on ``engine`` and ``app``; nothing imports ``tools``.
"""
