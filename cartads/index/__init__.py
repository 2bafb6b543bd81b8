"""The store index's format helpers: its content hash and its deltas.

The cloud's compiler writes them and the edge checks them, from this one copy, so the two cannot
drift. Pure; imports only ``cartads.v1``.
"""
