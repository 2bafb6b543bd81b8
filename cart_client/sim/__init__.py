"""``cartads-sim``: the store simulator. Real Instacart orders become sensor traces of trips,
replayed against an edge with simulated shoppers, handed to the cart's session as the ones who
decide its taps. Nothing live imports it.
"""
