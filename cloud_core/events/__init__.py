"""Event ingest: EventIngestService verifies, deduplicates and bills edge uploads exactly once.

``billing`` (what one event is worth), ``outcomes`` (its verdict and an upload's counts, as plain
values) and ``ledger_math`` (the rows and rollup deltas an upload adds) are pure; ``ingest`` is the
servicer, over the storage Protocols.
"""
