"""GTINs and their check digits: the GS1 mod-10 check of UPC-A, EAN-13, EAN-8 and GTIN-14, and the
price (or weight) verifier digit of a 4-digit field on a variable-measure label.

Every GTIN is compared as GTIN-14 (left-padded with zeros), so a UPC-A printed on a can and the
same number read as a 13-digit EAN are one product.
"""

from __future__ import annotations

GTIN_LENGTHS = (8, 12, 13, 14)

# GS1 General Specifications 7.9.3: the weighted products of a 4-digit price field's digits.
_WEIGHT_2_MINUS = (0, 2, 4, 6, 8, 9, 1, 3, 5, 7)
_WEIGHT_3 = (0, 3, 6, 9, 2, 5, 8, 1, 4, 7)
_WEIGHT_5_MINUS = (0, 5, 9, 4, 8, 3, 7, 2, 6, 1)


class CheckDigitError(ValueError):
    """A code whose check digit does not match its body; the message says which digit was expected."""


def check_digit(body: str) -> str:
    """The GS1 mod-10 check digit of ``body`` (every GTIN length): weights 3, 1, 3... from the right."""
    if not body.isdigit():
        raise ValueError(f"a GTIN body is digits only, got {body!r}")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def verify(code: str, kind: str) -> None:
    """Raise CheckDigitError when ``code``'s last digit is not the check digit of the rest."""
    expected = check_digit(code[:-1])
    if code[-1] != expected:
        raise CheckDigitError(f"bad check digit in {kind} {code}: read {code[-1]}, expected {expected}")


def to_gtin14(code: str) -> str:
    """A GTIN-8, -12, -13 or -14 as GTIN-14 (no check: call ``verify`` first)."""
    if len(code) not in GTIN_LENGTHS or not code.isdigit():
        raise ValueError(f"not a GTIN: {code!r}")
    return code.zfill(14)


def with_check_digit(body: str) -> str:
    """``body`` followed by its check digit."""
    return body + check_digit(body)


def price_verifier_digit(field: str) -> str:
    """The verifier digit of a 4-digit price or weight field (weights 2-, 2-, 3, 5-; sum times 3)."""
    if len(field) != 4 or not field.isdigit():
        raise ValueError(f"a price verifier needs exactly 4 digits, got {field!r}")
    digits = [int(d) for d in field]
    total = _WEIGHT_2_MINUS[digits[0]] + _WEIGHT_2_MINUS[digits[1]] + _WEIGHT_3[digits[2]] + _WEIGHT_5_MINUS[digits[3]]
    return str(total * 3 % 10)


__all__ = [
    "GTIN_LENGTHS",
    "CheckDigitError",
    "check_digit",
    "price_verifier_digit",
    "to_gtin14",
    "verify",
    "with_check_digit",
]
