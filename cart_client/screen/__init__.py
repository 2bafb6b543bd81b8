"""The touchscreen: a local web page fed over a WebSocket (``server``), the state it draws (pure),
a text renderer, and the cart's verified copy of creative images. Imports no ``cart_client.sim``.
"""
