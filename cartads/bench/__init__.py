"""``cartads-bench``: benchmarks that print numbers, each against a baseline measured in the same run.

Sits on top of all three components; nothing imports it.
"""
