"""Benchmarks: each prints the project's figure beside a floor measured in the same run."""
