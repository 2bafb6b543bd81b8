"""One index version: checked (``check``), stored in LMDB (``store``), and turned into the
immutable lookups the hot path reads (``view``, ``tables``, ``experiments``, ``arms``, ``carts``); ``holder``
swaps the version in use. Only ``store`` does I/O.
"""
