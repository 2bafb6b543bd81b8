"""What cloud replicas sharing one database keep there to work together: compiled index versions and
the compile leases that divide the work (``index_versions``), and their heartbeats (``heartbeats``).
Part of the storage room: may import what storage does.
"""
