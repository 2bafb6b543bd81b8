"""gRPC plumbing every CartAds server and client shares.

Servers get their size limits, health, reflection and one log line per call here; errors become
statuses with ``google.rpc`` details here; clients authenticate with bearer tokens and mutual TLS
from here. Imports only ``cartads.v1`` and the shared units.
"""
