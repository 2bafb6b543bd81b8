"""Variable-measure labels: UPC prefix 2 and in-store 02/20-29 EAN codes with a price or weight."""

from __future__ import annotations

import pytest

from cart_client.barcodes import BarcodeError, decode
from cart_client.barcodes.gtin import price_verifier_digit, with_check_digit
from cart_client.barcodes.variable import Measure, VariableScheme


def _label(prefix: str, item: str, value: str, *, verifier: bool) -> str:
    return with_check_digit(prefix + item + (price_verifier_digit(value) if verifier else "") + value)


@pytest.mark.parametrize(("field", "digit"), [("2875", "9"), ("0000", "0"), ("0499", "8"), ("1234", "9")])
def test_price_verifier_digit(field: str, digit: str) -> None:
    """The 4-digit verifier (weights 2-, 2-, 3, 5-, sum times 3) of known fields."""
    assert price_verifier_digit(field) == digit


def test_upc_prefix_2_price_label() -> None:
    """A 12-digit UPC-A 2 IIIII V PPPP C label: item 24852 priced $4.99."""
    upc = _label("2", "24852", "0499", verifier=True)
    assert len(upc) == 12
    scanned = decode(upc)
    assert (scanned.item_ref, scanned.price_micros, scanned.weight_g, scanned.gtin) == ("24852", 4_990_000, None, "")


def test_ean_02_is_the_same_label_as_upc_2() -> None:
    """The 13-digit 02 form of a UPC prefix-2 label reads the same."""
    upc = _label("2", "24852", "0499", verifier=True)
    as_upc, as_ean = decode(upc), decode("0" + upc)
    assert (as_ean.item_ref, as_ean.price_micros, as_ean.in_store_code) == (
        as_upc.item_ref,
        as_upc.price_micros,
        as_upc.in_store_code,
    )


@pytest.mark.parametrize(
    ("prefix", "value", "verifier", "measure", "expected"),
    [
        ("21", "01250", False, Measure.PRICE, 12_500_000),
        ("22", "0350", True, Measure.PRICE, 3_500_000),
        ("28", "00734", False, Measure.WEIGHT, 734.0),
        ("29", "1520", True, Measure.WEIGHT, 1520.0),
    ],
)
def test_in_store_prefixes(prefix: str, value: str, verifier: bool, measure: Measure, expected: float) -> None:
    """Each default in-store prefix yields its item reference and its price (micros) or weight (g)."""
    scanned = decode(_label(prefix, "00123", value, verifier=verifier))
    got = scanned.price_micros if measure is Measure.PRICE else scanned.weight_g
    assert (scanned.item_ref, got) == ("00123", expected)


def test_prefix_20_is_an_in_store_article_number() -> None:
    """20...: no measure, the whole code is the store's article number."""
    scanned = decode("2000000248523")
    assert (scanned.in_store_code, scanned.item_ref, scanned.weight_g, scanned.price_micros) == (
        "2000000248523",
        "",
        None,
        None,
    )


def test_a_bad_price_verifier_is_refused() -> None:
    """A label whose price does not match its verifier digit (but whose check digit does) is refused."""
    good_verifier = price_verifier_digit("0499")
    bad = with_check_digit("212345" + str((int(good_verifier) + 1) % 10) + "0499")
    with pytest.raises(BarcodeError, match="bad price verifier digit"):
        decode(bad)


def test_a_bad_check_digit_on_a_label_is_refused() -> None:
    """The label's own check digit is verified before its fields are read."""
    label = _label("28", "00123", "00734", verifier=False)
    with pytest.raises(BarcodeError, match="bad check digit"):
        decode(label[:-1] + str((int(label[-1]) + 1) % 10))


def test_a_store_can_configure_its_layouts() -> None:
    """A store whose 23 labels carry a 4-digit item and a 6-digit weight reads them with its scheme."""
    scheme = VariableScheme("23", Measure.WEIGHT, item_digits=4, value_digits=6)
    scanned = decode(with_check_digit("23" + "0042" + "001500"), schemes=(scheme,))
    assert (scanned.item_ref, scanned.weight_g) == ("0042", 1500.0)


def test_a_scheme_that_does_not_fill_13_digits_is_refused() -> None:
    """A misconfigured layout fails at configuration, not at the first scan."""
    with pytest.raises(ValueError, match="fill 13 digits"):
        VariableScheme("21", Measure.PRICE, item_digits=4)
