"""Reports: RunReport's pure core (request checks, rollup query, grouped sums) and report maths.

Imports no storage module: the rollup rows come in as plain values.
"""
