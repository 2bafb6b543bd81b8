"""Delivery maths: budget pacing, leases, a store's traffic profile and learned click and
conversion rates. Pure; imports nothing but the contract and the shared units.
"""
