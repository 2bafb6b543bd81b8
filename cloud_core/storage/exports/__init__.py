"""Report exports in SQL (``jobs``): each export's state, progress and CSV chunks, for both engines.

A sub-room of ``storage``: imports ``storage.protocol``'s value types, ``storage.schema`` and
``storage.sql``, nothing of the services.
"""
