"""What the cloud keeps to vouch for every charge: the edges' tracking token keys (``keys``, with
the flags of edges that uploaded forged charges) and the terms of every index version it sent to a
store (``terms``). Part of the storage room: may import what storage does.
"""
