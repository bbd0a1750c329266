"""Benchmarks. Each module prints its figures and ratios against a baseline measured in
the same run: `.venv/bin/python -m bench.<name>`, or `make bench` for all."""
