"""Event ingest: EventIngestService verifies, deduplicates and bills edge uploads exactly once.

``billing`` (what one event is worth), ``charges`` (whether a charge stands on the keys and terms the
cloud recorded), ``budget_cap`` (no spend past a budget), ``outcomes`` (an event's verdict and an
upload's counts, as plain values) and ``ledger_math`` (the rows and rollup deltas an upload adds) are
pure; ``ingest`` is the servicer and ``charge_inputs`` gathers what charges are judged with, both over
the storage Protocols.
"""
