"""The store's edge node: answers carts in about a millisecond and journals every event durably.

Rooms, and what each may import (besides ``cartads`` and the package's ``config``, ``errors`` and
``lmdb_env``, the one way the rooms that keep LMDB open and close it):
- ``index``: one index version: checked, kept in LMDB, turned into serving lookups.
- ``serving``: AdService; selection, eligibility and the auction are pure over ``index`` lookups.
- ``events``: the LMDB journal, group commit, attribution, budget leases, request counts, uploader.
- ``sync``: the StreamIndex client that brings new index versions from the cloud.
- ``assets``: creative images kept in LMDB and served to carts over HTTP.
- ``cloud_link``: the channel to the cloud and its backoff, shared by sync, assets and uploads.
- ``app``: the ``cartads-edge`` process: starts and stops the rooms; the only room that wires them.
"""
