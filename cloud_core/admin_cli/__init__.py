"""``cartads-admin``: operate the cloud's AdminService from a shell.

One module per resource (``advertisers``, ``campaigns``, ``line_items``, ``creatives``, ``stores`` with
the catalog, ``carts``, ``reports``, ``tokens``, ``edges``, ``assets``, ``billing`` (dead letters and
the reconciliation of reported events), ``experiments``) holds its command handlers and a
``register`` that adds its group with ``command.add_group`` and ``command.add_command``; ``main``
calls every ``register``, then runs the chosen handler. ``output`` prints tables and JSON.

A gRPC client only: it imports ``cartads`` (the contract, ``cartads.rpc``, the sample catalog reader,
the cart credential file), never the cloud's server rooms.
"""
