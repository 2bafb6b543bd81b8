"""The Instacart sample store shipped with CartAds: a real catalog and real baskets, and their loaders.

Used by the demo, the simulator, tests and benchmarks. Imports only ``cartads.v1``.
"""
