"""The SQL under every store: the ``Database`` (engine, worker threads, retries, which errors are
data and which are transient), the row writers that differ per dialect, and the migrations.

The only package of the cloud that looks at the dialect; it imports nothing of the stores.
"""
