"""Delivery maths: budget pacing, leases, a store's traffic profile and learned click and
conversion rates, and the statistics they read (``pacing_stats``). Pure; imports nothing but the
contract and the shared units.
"""
