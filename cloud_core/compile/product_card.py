"""The default image of a sponsored product that has none: an SVG card with its name and price. Pure.

The card is a function of the catalog row alone, so the compiler can name it by hash in an index
and the asset service can make the same bytes again when an edge asks for that hash.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from xml.sax.saxutils import escape

CARD_WIDTH_PX = 320
CARD_HEIGHT_PX = 240
_LINE_CHARS = 24


@dataclass(frozen=True)
class ProductCard:
    """A rendered card and its content hash."""

    data: bytes
    sha256: str


def _lines(name: str) -> list[str]:
    words, lines, line = name.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > _LINE_CHARS:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    if len(lines) > 3:
        lines = [*lines[:2], lines[2][: _LINE_CHARS - 1] + "…"]
    return lines or ["Product"]


def price_text(price_micros: int) -> str:
    """ "$3.49" for 3_490_000 micros; "" when the price is unknown."""
    if price_micros <= 0:
        return ""
    cents = (price_micros + 5_000) // 10_000
    return f"${cents // 100}.{cents % 100:02d}"


# Every store with the product compiles the same card: render each once per process.
@lru_cache(maxsize=16_384)
def render_product_card(name: str, price_micros: int) -> ProductCard:
    """The card's SVG bytes (deterministic for equal inputs) and their hash."""
    texts = []
    for i, line in enumerate(_lines(name)):
        texts.append(
            f'<text x="160" y="{78 + 30 * i}" font-family="sans-serif" font-size="24" font-weight="bold" '
            f'text-anchor="middle" fill="#1f2d3d">{escape(line)}</text>'
        )
    price = price_text(price_micros)
    if price:
        texts.append(
            f'<text x="160" y="205" font-family="sans-serif" font-size="34" font-weight="bold" '
            f'text-anchor="middle" fill="#0a7d32">{escape(price)}</text>'
        )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{CARD_WIDTH_PX}" height="{CARD_HEIGHT_PX}" '
        f'viewBox="0 0 {CARD_WIDTH_PX} {CARD_HEIGHT_PX}">'
        '<rect x="0" y="0" width="320" height="240" rx="16" fill="#f4f7f2"/>'
        '<rect x="8" y="8" width="304" height="224" rx="12" fill="none" stroke="#0a7d32" stroke-width="3"/>'
        f"{''.join(texts)}</svg>"
    )
    data = svg.encode("utf-8")
    return ProductCard(data=data, sha256=hashlib.sha256(data).hexdigest())
