"""What cloud, edge and cart share: the contract and the mechanisms written once for all of them.

- ``cartads.v1``: the generated bindings of ``protos/cartads/v1`` (never edited by hand).
- ``rpc``: gRPC plumbing of every server and client (limits, health, errors with details, bearer, TLS).
- ``index``: the index format's helpers (content hash, deltas), one copy for the compiler and the edge.
- ``ops``: structured logs and the ``/metrics`` ``/healthz`` ``/readyz`` endpoint.
- ``group_commit``: concurrent writers sharing one durable commit (the edge's journal, the cloud's ledger).
- ``tracking_token``, ``time_units``, ``store_time``: formats and units both ends must agree on.
- ``cart_credential``: the enrolled cart's credential (made by the cloud, checked by the edge);
  ``credential_file``: the file ``cartads-admin carts enroll --out`` writes and a cart reads;
  ``reported_file``: what carts reported, as ``cartads-sim --reported`` writes it for
  ``cartads-admin billing reconcile`` to read.
- ``ivt``: the invalid traffic rules, judged by the edge and again by the cloud; ``cart_limits``:
  what one cart may ask of its edge. Both with the defaults the index's copies fall back to.
- ``protowire``: protobuf's wire format written by hand, for the compiler's and the edge's spliced messages.
- ``sample``: the Instacart sample store (catalog and baskets) and its loaders.
- ``demo`` and ``bench``: the whole system run on this machine, as a demo and as benchmarks.

Imports: everything but ``demo`` and ``bench`` imports nothing of ``cloud_core``, ``edge_node`` or
``cart_client``; ``demo`` and ``bench`` run all three and are imported by none of them.
"""
