"""The shopper's loyalty number as the cart may send it: a pseudonym, never the number. Pure.

The retailer gives its carts one secret loyalty key. The cart sends HMAC-SHA256(key, number) in hex:
the same shopper gets the same id on every cart of the retailer (so the edge can link their trips
for multi-day attribution windows), while nobody without the key can turn an id back into a
number, or compute the id of a number they know. The edge refuses anything that is not 64 hex
characters, so a raw number cannot slip through by mistake.
"""

from __future__ import annotations

import hashlib
import hmac

# Shorter keys make the pseudonym guessable by trying every loyalty number.
MIN_KEY_BYTES = 16


def pseudonymous_id(loyalty_number: str, key: bytes) -> str:
    """The id the cart reports for ``loyalty_number``; "" without a number or a usable key."""
    number = loyalty_number.strip()
    if not number or len(key) < MIN_KEY_BYTES:
        return ""
    return hmac.new(key, number.encode(), hashlib.sha256).hexdigest()
