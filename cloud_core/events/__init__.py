"""Event ingest: EventIngestService verifies, deduplicates and bills edge uploads exactly once.

``billing`` (what one event is worth) is pure; ``ingest`` is the servicer.
"""
