"""``cartads-demo``: the whole ad loop on this machine (cloud, edge and carts replaying real trips).

Sits on top of all three components; nothing imports it.
"""
