"""UPC-A, EAN-13, EAN-8 and GTIN-14: check digits verified, every GTIN compared as GTIN-14."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cart_client.barcodes import BarcodeError, Symbology, decode
from cart_client.barcodes.gtin import check_digit, to_gtin14, with_check_digit


@pytest.mark.parametrize(
    ("code", "symbology", "gtin"),
    [
        ("036000241457", Symbology.UPC_A, "00036000241457"),
        ("4006381333931", Symbology.EAN_13, "04006381333931"),
        ("96385074", Symbology.EAN_8, "00000096385074"),
        ("10614141000415", Symbology.GTIN_14, "10614141000415"),
    ],
)
def test_a_printed_retail_code_decodes_to_its_gtin14(code: str, symbology: Symbology, gtin: str) -> None:
    """Real codes of each length decode to their kind and their GTIN-14."""
    scanned = decode(code)
    assert (scanned.symbology, scanned.gtin) == (symbology, gtin)


def test_upc_a_and_its_ean13_form_are_one_gtin() -> None:
    """A UPC-A read as 13 digits (leading 0) is the same product."""
    assert decode("036000241457").gtin == decode("0036000241457").gtin


@pytest.mark.parametrize(
    ("raw", "symbology"),
    [("]E0036000241457", Symbology.UPC_A), ("]E00036000241457", Symbology.EAN_13), ("]E496385074", Symbology.EAN_8)],
)
def test_an_aim_symbology_identifier_is_read_and_stripped(raw: str, symbology: Symbology) -> None:
    """The scanner's ]E0 / ]E4 prefix names the symbology and is not part of the data."""
    assert decode(raw).symbology == symbology


@pytest.mark.parametrize(
    ("code", "kind"),
    [("036000241458", "UPC-A"), ("4006381333932", "EAN-13"), ("96385075", "EAN-8"), ("10614141000416", "GTIN-14")],
)
def test_a_bad_check_digit_is_refused_with_the_expected_digit(code: str, kind: str) -> None:
    """One wrong check digit is refused, and the reason names the kind and the digit expected."""
    with pytest.raises(BarcodeError, match=rf"bad check digit in {kind} {code}: read \d, expected \d"):
        decode(code)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty scan"),
        ("12345", "5 digits is no UPC-A"),
        ("03600024145X", "not a barcode"),
        ("]Q3036000241457", "unsupported symbology"),
        ("]E44006381333931", "ean_8 with 13 digits"),
    ],
)
def test_malformed_symbols_are_refused_with_a_reason(raw: str, reason: str) -> None:
    """Empty, short, non-numeric and mislabelled symbols are refused, never guessed at."""
    with pytest.raises(BarcodeError, match=reason):
        decode(raw)


# Outside the store's own numbering (02, 20-29), whose labels also carry a verifier digit.
GTIN_BODIES = st.text(alphabet="0123456789", min_size=7, max_size=13).filter(
    lambda body: len(body) in (7, 11, 12, 13) and not body.lstrip("0").startswith("2")
)


@given(GTIN_BODIES)
def test_any_body_with_its_check_digit_decodes_to_its_gtin(body: str) -> None:
    """Whatever the body, appending its check digit gives a code that decodes to that GTIN."""
    code = with_check_digit(body)
    assert decode(code).gtin == to_gtin14(code)


@given(st.text(alphabet="0123456789", min_size=12, max_size=12), st.integers(0, 11), st.integers(1, 9))
def test_any_single_digit_error_is_caught(body: str, position: int, shift: int) -> None:
    """The GS1 check digit catches every single wrong digit of an EAN-13."""
    code = with_check_digit(body)
    wrong = code[:position] + str((int(code[position]) + shift) % 10) + code[position + 1 :]
    assert check_digit(wrong[:-1]) != wrong[-1]
