"""Events at the edge: verified, attributed, priced and journaled in LMDB before a cart hears back,
then uploaded in order and deleted only once the cloud acknowledged them.

``attribution`` and ``leases`` are pure; ``journal`` and ``uploader`` do the I/O.
"""
