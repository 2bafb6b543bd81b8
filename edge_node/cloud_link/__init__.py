"""The edge's channel to the cloud (mutual TLS or bearer) and the backoff of everything that retries it."""
