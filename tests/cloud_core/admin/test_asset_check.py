"""Upload checks: types sniffed from bytes, dimensions read from headers, hostile SVG made harmless."""

from __future__ import annotations

import pytest

from cloud_core.admin.asset_check import JPEG, PNG, SVG, AssetError, check_asset
from cloud_core.compile.product_card import render_product_card
from tests.asset_images import HOSTILE_SVG, jpeg_header, png_bytes


def test_png_type_and_size_come_from_the_bytes() -> None:
    """A PNG is recognised by its signature and sized from IHDR."""
    checked = check_asset(png_bytes(64, 48))
    assert (checked.content_type, checked.width, checked.height) == (PNG, 64, 48)


def test_jpeg_size_comes_from_the_frame_header() -> None:
    """A JPEG is sized from its start-of-frame segment."""
    checked = check_asset(jpeg_header(120, 90))
    assert (checked.content_type, checked.width, checked.height) == (JPEG, 120, 90)


def test_a_gif_is_refused_whatever_it_is_called() -> None:
    """Bytes that are not PNG, JPEG or SVG are refused (names are never trusted)."""
    with pytest.raises(AssetError, match="not a PNG, JPEG or SVG"):
        check_asset(b"GIF89a" + b"\x00" * 100)


def test_an_upload_over_the_size_limit_is_refused() -> None:
    """The size limit is enforced before anything is parsed."""
    with pytest.raises(AssetError, match="more than the 100 allowed"):
        check_asset(png_bytes(), max_bytes=100)


def test_a_tiny_image_is_refused_for_its_dimensions() -> None:
    """Width and height must be within the allowed range."""
    with pytest.raises(AssetError, match="2x2 px"):
        check_asset(png_bytes(2, 2))


def test_svg_size_falls_back_to_the_viewbox() -> None:
    """An SVG without width/height is sized by its viewBox."""
    checked = check_asset(b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 150"><rect width="1"/></svg>')
    assert (checked.content_type, checked.width, checked.height) == (SVG, 300, 150)


def test_hostile_svg_comes_out_harmless() -> None:
    """Scripts, handlers, foreignObject, external links and javascript: URLs are all removed."""
    checked = check_asset(HOSTILE_SVG)
    text = checked.data.decode().lower()
    assert checked.sanitized
    for bad in (
        "<script",
        "onload",
        "onclick",
        "foreignobject",
        "iframe",
        "javascript:",
        "evil.example",
        "<image",
        "<a ",
    ):
        assert bad not in text, bad
    assert 'href="#local"' in text  # an in-document reference survives
    assert "fresh" in text
    assert "<circle" in text


def test_svg_with_a_doctype_is_refused() -> None:
    """DTDs (entity expansion, external entities) are refused outright."""
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20">&a;</svg>'
    )
    with pytest.raises(AssetError, match="DOCTYPE"):
        check_asset(bomb)


def test_a_safe_svg_is_kept_as_it_is_drawn() -> None:
    """The generated product card passes the sanitiser unchanged."""
    card = render_product_card("Organic Bananas", 1_290_000)
    checked = check_asset(card.data)
    assert not checked.sanitized
    assert b"$1.29" in checked.data
    assert b"Organic Bananas" in checked.data
