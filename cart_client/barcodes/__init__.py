"""Barcodes as stores print them: UPC-A, EAN-13, EAN-8, GS1-128 and GS1 DataBar element strings,
and the variable-measure labels of meat, deli and produce counters, decoded to a GTIN and what the
label says the item weighs or costs.

Pure: strings in, values out; imports nothing of the cart but itself. ``decode`` is the entry point.
"""

from cart_client.barcodes.decode import BarcodeError, Scanned, Symbology, decode

__all__ = ["BarcodeError", "Scanned", "Symbology", "decode"]
