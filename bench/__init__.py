"""Benchmarks: harness figures against a baseline measured in the same run (DESIGN.md §9)."""
