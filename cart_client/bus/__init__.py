"""The cart's sensor bus over MQTT: the per-cart topic tree and its payloads (``topics``, pure), the
cart's subscriber with reconnect and backoff (``mqtt``), and the publisher sensor daemons and
``cartads-sim`` use (``publisher``).

Imports of the cart: ``sensors`` (the readings' types) only.
"""
