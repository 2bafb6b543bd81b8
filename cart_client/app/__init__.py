"""``cartads-cart``: one cart's live session with its edge, its durable outbox, the trace runner and
the catalog it reads at start. Imports no ``cart_client.sim``: who decides a tap is handed in.
"""
