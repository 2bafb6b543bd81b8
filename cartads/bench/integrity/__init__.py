"""``cartads-bench integrity``: honest carts and rogue devices against one real cloud and edge.

The honest carts replay real trips with enrolled credentials; each attacker runs in its own OS
process, as a device on the store's network would, and talks only gRPC. The bench then audits the
ledger: what rogues got billed (target 0), whether every honest cart was billed exactly what it
reported, the invalid-traffic rate, and what authentication costs GetAds.
"""
