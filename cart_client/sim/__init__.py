"""``cartads-sim``: the store simulator. Real Instacart orders become sensor traces of trips,
replayed against an edge with simulated shoppers. Nothing live imports it.
"""
