"""The cart: reads its sensors, keeps the basket, asks its edge for ads, shows them and reports events.

Rooms:
- ``trip``: the pure core of one trip (fusion of sensors into a basket, when to ask for ads).
- ``barcodes``: the pure decoding of scanned symbols (UPC/EAN, GS1 element strings, variable-measure
  labels) to GTINs, weights and prices; imports nothing else of the cart.
- ``sensors``: where readings come from (trace files, standard input, a local socket).
- ``bus``: the MQTT sensor bus: topics and payloads, the cart's subscriber, the daemons' publisher.
- ``devices``: serial devices: the NCI scale and the barcode scanner on their serial lines.
- ``screen``: the touchscreen page and the text renderer, and the cart's copy of creative images.
- ``app``: ``cartads-cart``: the live session with the edge, the outbox, the trace runner, the
  catalog read at start.
- ``sim``: ``cartads-sim``: real orders turned into trips and replayed with simulated shoppers, whom
  the session takes as its tap decider; imported by nothing live.
"""
