"""``cartads-bench fleet``: a thousand stores, each with its own catalog, on one PostgreSQL database
served by two ``cartads-cloud`` replicas, one simulated edge per store; national and one-store change
to ACK, replica memory, and signed event ingest through both replicas at once, billed exactly once."""
