"""gRPC plumbing every CartAds server and client shares.

Servers get their size limits, health, reflection and one log line per call here; errors become
statuses with ``google.rpc`` details here (a request that does not parse is INVALID_ARGUMENT, a
handler's unexpected exception INTERNAL with a reference); clients authenticate with bearer tokens
and mutual TLS from here. Imports only ``cartads.v1``, ``cartads.ops.logs`` and the shared units.
"""
