"""The cart's serial devices: the load cell's indicator speaking the NCI scale protocol (``nci``, a
pure codec; ``serial_scale``, its poller) and the barcode scanner sending raw symbols
(``serial_scanner``), both through pyserial's asyncio transport. Each yields the sensor events of
``cart_client.sensors``; ``merge`` combines them with the cart's other sources.

Imports of the cart: ``sensors`` (the readings' types) only.
"""
