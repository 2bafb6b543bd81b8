"""Variable-measure labels: the codes a store's own scales print on meat, deli and produce.

GS1 leaves the prefixes 02 and 20-29 to each store or country ("restricted circulation"): such a
code is not a GTIN but an item reference and, in the same 13 digits, the item's price or weight. A
UPC-A starting with 2 is the same thing as an EAN-13 starting with 02. A store configures its
layouts; ``DEFAULT_SCHEMES`` is this project's (documented in docs/SENSORS.md):

| prefix | layout (13 digits)       | value                                |
|--------|--------------------------|--------------------------------------|
| 02     | 02 IIIII V PPPP C        | price in cents, V its verifier digit |
| 20     | 20 NNNNNNNNNN C          | none: an in-store article number     |
| 21     | 21 IIIII PPPPP C         | price in cents                       |
| 22     | 22 IIIII V PPPP C        | price in cents, V its verifier       |
| 28     | 28 IIIII WWWWW C         | net weight in grams                  |
| 29     | 29 IIIII V WWWW C        | net weight in grams, V its verifier  |
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from cart_client.barcodes.gtin import price_verifier_digit

CENT_MICROS = 10_000


class Measure(enum.StrEnum):
    """What a variable-measure label carries besides the item."""

    NONE = "none"
    PRICE = "price"
    WEIGHT = "weight"


@dataclass(frozen=True, slots=True)
class VariableScheme:
    """One label layout: codes starting with ``prefix`` carry an item reference and a value."""

    prefix: str
    measure: Measure
    item_digits: int = 5
    value_digits: int = 5
    verifier: bool = False

    def __post_init__(self) -> None:
        used = len(self.prefix) + self.item_digits + int(self.verifier) + self.value_digits + 1
        if self.measure is not Measure.NONE and used != 13:
            raise ValueError(f"scheme {self.prefix}: the fields must fill 13 digits, they fill {used}")
        if self.verifier and self.value_digits != 4:
            raise ValueError(f"scheme {self.prefix}: a verifier digit guards a 4-digit value only")


DEFAULT_SCHEMES: tuple[VariableScheme, ...] = (
    VariableScheme("02", Measure.PRICE, value_digits=4, verifier=True),
    VariableScheme("20", Measure.NONE),
    VariableScheme("21", Measure.PRICE),
    VariableScheme("22", Measure.PRICE, value_digits=4, verifier=True),
    VariableScheme("28", Measure.WEIGHT),
    VariableScheme("29", Measure.WEIGHT, value_digits=4, verifier=True),
)


class VerifierError(ValueError):
    """The price or weight on a label does not match its verifier digit."""


@dataclass(frozen=True, slots=True)
class VariableItem:
    """A variable-measure label read: the item reference and the price or weight it states."""

    item_ref: str
    measure: Measure
    price_micros: int | None = None
    weight_g: float | None = None


def is_restricted(code13: str) -> bool:
    """Whether a (verified) 13-digit code is in the store's own numbering range (02, 20-29)."""
    return code13.startswith(("02", "2"))


def scheme_for(code13: str, schemes: Sequence[VariableScheme]) -> VariableScheme | None:
    """The scheme whose prefix the code starts with (the longest prefix wins), or None."""
    matching = [s for s in schemes if code13.startswith(s.prefix)]
    return max(matching, key=lambda s: len(s.prefix), default=None)


def read_label(code13: str, scheme: VariableScheme) -> VariableItem:
    """The item reference and value of a (check-digit verified) 13-digit label."""
    pos = len(scheme.prefix)
    item_ref = code13[pos : pos + scheme.item_digits]
    pos += scheme.item_digits
    if scheme.measure is Measure.NONE:
        return VariableItem(code13[:-1], Measure.NONE)
    verifier = code13[pos] if scheme.verifier else ""
    pos += int(scheme.verifier)
    value = code13[pos : pos + scheme.value_digits]
    if scheme.verifier and verifier != (expected := price_verifier_digit(value)):
        raise VerifierError(f"bad {scheme.measure} verifier digit in {code13}: read {verifier}, expected {expected}")
    if scheme.measure is Measure.PRICE:
        return VariableItem(item_ref, Measure.PRICE, price_micros=int(value) * CENT_MICROS)
    return VariableItem(item_ref, Measure.WEIGHT, weight_g=float(int(value)))


__all__ = [
    "CENT_MICROS",
    "DEFAULT_SCHEMES",
    "Measure",
    "VariableItem",
    "VariableScheme",
    "VerifierError",
    "is_restricted",
    "read_label",
    "scheme_for",
]
