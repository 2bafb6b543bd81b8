"""One scanned symbol to what it identifies: ``decode`` reads the scanner's raw text.

A scanner may prefix its data with an AIM symbology identifier (``]E0`` EAN-13 or UPC-A, ``]E4``
EAN-8, ``]C1`` GS1-128, ``]e0`` GS1 DataBar); without one the data says what it is: 8, 12, 13 or 14
digits are a GTIN, text with parentheses is a printed element string, and digits starting with an
AI and holding a group separator (or longer than 14) are a transmitted one. A bad check digit, a
bad verifier, an unknown AI or a truncated symbol is refused with the reason, never guessed at.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from cart_client.barcodes.gs1 import GROUP_SEPARATOR, ElementString, parse_printed, parse_transmitted
from cart_client.barcodes.gtin import to_gtin14, verify
from cart_client.barcodes.variable import (
    DEFAULT_SCHEMES,
    Measure,
    VariableScheme,
    is_restricted,
    read_label,
    scheme_for,
)


class Symbology(enum.StrEnum):
    """The kind of symbol the code came from."""

    UPC_A = "upc_a"
    EAN_13 = "ean_13"
    EAN_8 = "ean_8"
    GTIN_14 = "gtin_14"
    GS1_128 = "gs1_128"
    GS1_DATABAR = "gs1_databar"


_AIM = {"E0": None, "E4": Symbology.EAN_8, "C1": Symbology.GS1_128, "e0": Symbology.GS1_DATABAR}
_DIGITS_KIND = {8: Symbology.EAN_8, 12: Symbology.UPC_A, 13: Symbology.EAN_13, 14: Symbology.GTIN_14}


class BarcodeError(ValueError):
    """A symbol the cart refuses; ``str()`` is the reason, for the log and the screen."""


@dataclass(frozen=True, slots=True)
class Scanned:
    """What a symbol identifies: a GTIN (as GTIN-14), or a store's own code, and what it states.

    ``in_store_code`` is the 13-digit code of the store's numbering (prefix 02 or 20-29) and
    ``item_ref`` its item reference when the label carries a price or weight; ``gtin`` is then "".
    """

    symbology: Symbology
    gtin: str = ""
    in_store_code: str = ""
    item_ref: str = ""
    weight_g: float | None = None
    price_micros: int | None = None
    currency: str = ""


def _element_string(body: str, symbology: Symbology) -> Scanned:
    try:
        parsed: ElementString = parse_printed(body) if body.startswith("(") else parse_transmitted(body)
        gtin = parsed.get("01") or ""
        if not gtin:
            raise BarcodeError(f"{symbology} without a GTIN (AI 01)")
        verify(gtin, "AI (01) GTIN")
        price = parsed.price_micros()
    except BarcodeError:
        raise
    except ValueError as exc:
        raise BarcodeError(str(exc)) from exc
    return Scanned(
        symbology,
        gtin=gtin,
        weight_g=parsed.net_weight_g(),
        price_micros=price[0] if price else None,
        currency=price[1] if price else "",
    )


def _retail(digits: str, symbology: Symbology, schemes: Sequence[VariableScheme]) -> Scanned:
    if len(digits) not in _DIGITS_KIND:
        raise BarcodeError(f"a code of {len(digits)} digits is no UPC-A, EAN-13, EAN-8 or GTIN-14")
    try:
        verify(digits, symbology.replace("_", "-").upper())
    except ValueError as exc:
        raise BarcodeError(str(exc)) from exc
    code13 = digits.zfill(13)
    if len(digits) in (12, 13) and is_restricted(code13):
        scheme = scheme_for(code13, schemes)
        if scheme is None:
            return Scanned(symbology, in_store_code=code13)
        try:
            label = read_label(code13, scheme)
        except ValueError as exc:
            raise BarcodeError(str(exc)) from exc
        item_ref = label.item_ref if label.measure is not Measure.NONE else ""
        return Scanned(
            symbology, in_store_code=code13, item_ref=item_ref, weight_g=label.weight_g, price_micros=label.price_micros
        )
    return Scanned(symbology, gtin=to_gtin14(digits))


def decode(raw: str, schemes: Sequence[VariableScheme] = DEFAULT_SCHEMES) -> Scanned:
    """What the scanned ``raw`` text identifies; raises BarcodeError saying why it cannot be trusted."""
    text = raw.strip("\r\n ")
    if not text:
        raise BarcodeError("empty scan")
    symbology: Symbology | None = None
    if text.startswith("]"):
        aim, text = text[1:3], text[3:]
        if aim not in _AIM:
            raise BarcodeError(f"unsupported symbology ]{aim}")
        symbology = _AIM[aim]
        if aim == "E0":
            symbology = Symbology.UPC_A if len(text) == 12 else Symbology.EAN_13
    if symbology in (Symbology.GS1_128, Symbology.GS1_DATABAR):
        return _element_string(text, symbology)
    if text.startswith("(") or GROUP_SEPARATOR in text or (text.isdigit() and len(text) > 14):
        if symbology is not None:
            raise BarcodeError(f"{symbology} cannot carry an element string")
        return _element_string(text, Symbology.GS1_128)
    if not text.isdigit():
        raise BarcodeError(f"not a barcode: {raw!r}")
    kind = _DIGITS_KIND.get(len(text))
    if symbology is not None and kind is not None and symbology is not kind:
        raise BarcodeError(f"{symbology} with {len(text)} digits")
    return _retail(text, symbology or kind or Symbology.EAN_13, schemes)


__all__ = ["BarcodeError", "Scanned", "Symbology", "decode"]
