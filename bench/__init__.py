"""Benchmarks: each prints ratios measured in one run against a bare endpoint of the same server."""
