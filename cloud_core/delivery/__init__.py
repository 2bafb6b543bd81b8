"""Delivery maths: budget pacing, leases, a store's traffic profile and learned click and
conversion rates, the statistics they read (``pacing_stats``), and the delivery status an operator
reads (``status``). Pure; imports nothing but the
contract and the shared units.
"""
