"""Reports: RunReport's pure core (request checks, rollup query, grouped sums), report maths, and the
rollup rows an upload adds (``rollups``).

Imports no storage module: rollup rows come in and go out as plain values.
"""
