"""AdminService: thin gRPC servicers over pure input checks (``validation``, ``creative_rules``,
``asset_check``) and the storage Protocols. Imports ``access``, ``compile``'s rules, ``reports``
and ``storage.protocol``; never a concrete store.
"""
