"""GS1-128 and GS1 DataBar element strings: GTIN (01), net weight (310n, 320n) and price (392n, 393n)."""

from __future__ import annotations

import pytest

from cart_client.barcodes import BarcodeError, Symbology, decode
from cart_client.barcodes.gs1 import GROUP_SEPARATOR as GS
from cart_client.barcodes.gs1 import parse_transmitted

GTIN = "09501101530003"


def test_printed_gtin_weight_and_price() -> None:
    """(01)(3103)(3922) in print: the GTIN, 0.250 kg and 4.99 in the store's currency."""
    scanned = decode(f"(01){GTIN}(3103)000250(3922)0499")
    assert (scanned.gtin, scanned.weight_g, scanned.price_micros) == (GTIN, 250.0, 4_990_000)


def test_transmitted_gs1_128_with_group_separators() -> None:
    """As a scanner sends it: ]C1, fixed fields run on, <GS> ends the variable batch field."""
    scanned = decode(f"]C101{GTIN}3102001234" + f"10LOT7{GS}3922499")
    assert scanned.symbology == Symbology.GS1_128
    assert (scanned.gtin, scanned.weight_g, scanned.price_micros) == (GTIN, 12_340.0, 4_990_000)


def test_databar_expanded_variable_measure_item() -> None:
    """]e0: a DataBar Expanded label of a weighed item (indicator 9 GTIN) with weight and price."""
    scanned = decode("]e001" + "99501101530006" + "3103001234" + "3922" + "0499")
    assert scanned.symbology == Symbology.GS1_DATABAR
    assert (scanned.gtin, scanned.weight_g, scanned.price_micros) == ("99501101530006", 1_234.0, 4_990_000)


@pytest.mark.parametrize(("ai", "grams"), [("3100", 1000.0), ("3101", 100.0), ("3105", 0.01), ("3200", 453.59237)])
def test_net_weight_decimals_and_units(ai: str, grams: float) -> None:
    """The AI's last digit places the decimal point; 310n is kilograms, 320n pounds."""
    assert decode(f"(01){GTIN}({ai})000001").weight_g == pytest.approx(grams)


def test_price_with_iso_currency() -> None:
    """393n carries an ISO 4217 numeric currency before the amount."""
    scanned = decode(f"(01){GTIN}(3932)9781299")
    assert (scanned.price_micros, scanned.currency) == (12_990_000, "978")


def test_other_ais_are_walked_past() -> None:
    """Dates, batch and serial numbers are parsed so the fields after them are found."""
    parsed = parse_transmitted(f"01{GTIN}17261231" + f"21SN42{GS}3103000500")
    assert [ai for ai, _ in parsed.fields] == ["01", "17", "21", "3103"]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (f"(01){GTIN[:-1]}4(3103)000250", "bad check digit in AI \\(01\\) GTIN"),
        (f"(01){GTIN}(3103)00025", "AI \\(3103\\) needs 6 characters"),
        (f"(01){GTIN}(7777)12", "unknown application identifier"),
        ("(3103)000250", "without a GTIN"),
        (f"]C101{GTIN}3103ABCDEF", "AI \\(3103\\) is numeric"),
        (f"(01){GTIN}junk", "AI \\(01\\) needs 14 characters"),
        ("junk(01)09501101530003", "not a barcode"),
        ("]E0(01)09501101530003", "cannot carry an element string"),
    ],
)
def test_bad_element_strings_are_refused_with_a_reason(raw: str, reason: str) -> None:
    """A wrong GTIN check digit, a short field, an unknown AI or no GTIN at all is refused, saying which."""
    with pytest.raises(BarcodeError, match=reason):
        decode(raw)
