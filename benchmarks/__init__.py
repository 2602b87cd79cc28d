"""Benchmarks of the exact layers; ``common`` holds the shared seeded instance generators.

Run a benchmark from the repository root as a module, e.g.
``python -m benchmarks.bench_evaluation``.
"""
