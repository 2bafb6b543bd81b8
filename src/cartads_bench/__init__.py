"""Benchmarks that print numbers: each compares CartAds with a baseline measured in the same run."""
