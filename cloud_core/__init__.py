"""The cloud: where operators and advertisers manage campaigns, and where events become money.

Rooms, and what each may import (besides ``cartads``):
- ``app``: the ``cartads-cloud`` process: configuration, server start-up, CLI. Wires every room.
- ``access``: who may call what (roles, tokens, edge binding); ``policy`` is pure.
- ``admin``: the AdminService servicers and their pure input checks.
- ``admin_cli``: ``cartads-admin``, a gRPC client of AdminService; imports no other room.
- ``compile``: campaigns and catalog in, one store's index out (pure).
- ``delivery``: pacing, budget leases, traffic shares, learned rates (pure).
- ``sync``: IndexSyncService and AssetService: pushes compiled indexes to edges.
- ``events``: EventIngestService: verify, dedupe and bill uploaded events.
- ``reports``: RunReport's pure core and report maths.
- ``console``: the read-only operator web page.
- ``storage``: SQL on SQLite or PostgreSQL behind the Protocols the rooms depend on.

The pure cores (``access.policy``, ``compile``, ``delivery``, ``reports``, ``events.billing``)
import no I/O module: no storage, no gRPC server, no clock.
"""
