"""The edge's channel to the cloud (mutual TLS or bearer), the backoff of everything that retries it,
and how a failed call is logged (``refusals``: a refused credential at error)."""
