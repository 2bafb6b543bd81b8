"""AdminService. ``service`` is the gRPC servicer: it only hands each method to the part that owns
the resource (``campaigns`` and their advertisers, ``line_items``, ``creatives`` and their images,
``stores`` and their catalogs, ``edges``, ``experiments``, ``reports``, ``tokens``, ``carts`` and
their credentials; the sub-room ``delivery`` for delivery status). Each part is a thin shell over
the pure input checks (``validation``, ``creative_rules``, ``asset_check``) and the steps every
request shares (``request_checks``), and takes only the storage Protocols it needs. Imports
``access``, ``compile``'s rules, ``delivery``, ``reports``, ``storage.protocol`` and the ``sync``
notifier Protocol.
"""
