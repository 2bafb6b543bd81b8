"""``cartads-cart``: one cart's live session with its edge, its durable outbox and the trace runner."""
