"""Pure checks of an uploaded image: its type sniffed from the bytes, its dimensions, a safe SVG.

Nothing here trusts a file name or a declared type. SVG is re-built from an allow-list of elements
and attributes, so whatever a hostile file carries (scripts, event handlers, foreignObject,
external links, ``javascript:``) is not in the bytes that are stored, hashed and served.
"""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass

PNG = "image/png"
JPEG = "image/jpeg"
SVG = "image/svg+xml"

MAX_ASSET_BYTES = 2 * 1024 * 1024
MAX_DIMENSION_PX = 4096
MIN_DIMENSION_PX = 16

_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK_NS = "http://www.w3.org/1999/xlink"

# Drawing elements only: no script, foreignObject, image (external), use of other documents, animation.
_ALLOWED_ELEMENTS = frozenset(
    {
        "svg", "g", "defs", "title", "desc", "path", "rect", "circle", "ellipse", "line", "polyline",
        "polygon", "text", "tspan", "linearGradient", "radialGradient", "stop", "clipPath", "mask",
        "pattern", "symbol", "use",
    }
)  # fmt: skip
_ALLOWED_ATTRIBUTES = frozenset(
    {
        "id", "class", "width", "height", "viewBox", "preserveAspectRatio", "x", "y", "x1", "y1", "x2",
        "y2", "cx", "cy", "r", "rx", "ry", "d", "points", "fill", "fill-opacity", "fill-rule", "stroke",
        "stroke-width", "stroke-opacity", "stroke-linecap", "stroke-linejoin", "stroke-dasharray",
        "opacity", "transform", "font-family", "font-size", "font-weight", "font-style", "text-anchor",
        "dominant-baseline", "dx", "dy", "offset", "stop-color", "stop-opacity", "gradientUnits",
        "gradientTransform", "patternUnits", "clip-path", "clip-rule", "mask", "href", "version",
        "letter-spacing",
    }
)  # fmt: skip
# Attribute values may point inside the document (url(#id)) but nowhere else.
_EXTERNAL_URL = re.compile(r"url\(\s*['\"]?\s*(?!#)", re.IGNORECASE)
_SCRIPTY = re.compile(r"javascript:|data:|expression\(", re.IGNORECASE)
_LENGTH = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(px)?\s*$")


class AssetError(ValueError):
    """The upload is not an image this system serves; the message says why."""


@dataclass(frozen=True)
class CheckedAsset:
    """An upload that passed every check: the bytes to store (sanitised for SVG) and what they are."""

    data: bytes
    content_type: str
    width: int
    height: int
    sanitized: bool = False


def sniff_type(data: bytes) -> str:
    """The image type the bytes really are; raises AssetError for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<?xml", b"<svg", b"<!--")) and b"<svg" in data[:4096].lower():
        return SVG
    raise AssetError("is not a PNG, JPEG or SVG image")


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which a valid PNG has first."""
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise AssetError("PNG has no IHDR header")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


_SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def jpeg_size(data: bytes) -> tuple[int, int]:
    """Width and height from the first start-of-frame segment."""
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise AssetError("JPEG segment structure is broken")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _SOF_MARKERS:
            if pos + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return int(width), int(height)
        if marker == 0xDA or length < 2:  # image data began without a frame header
            break
        pos += 2 + length
    raise AssetError("JPEG has no frame header")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _length(value: str | None) -> float | None:
    match = _LENGTH.match(value or "")
    return float(match.group(1)) if match else None


def svg_size(root: ET.Element) -> tuple[int, int]:
    """Width and height from the root's width/height, or else its viewBox."""
    width, height = _length(root.get("width")), _length(root.get("height"))
    if width is None or height is None:
        parts = (root.get("viewBox") or "").replace(",", " ").split()
        if len(parts) != 4:
            raise AssetError("SVG needs width and height in px or a viewBox")
        try:
            width, height = float(parts[2]), float(parts[3])
        except ValueError as exc:
            raise AssetError("SVG viewBox is not four numbers") from exc
    return round(width), round(height)


def _safe_attribute(name: str, value: str) -> bool:
    if name not in _ALLOWED_ATTRIBUTES or name.startswith("on"):
        return False
    if name == "href":
        return value.startswith("#")
    return not (_EXTERNAL_URL.search(value) or _SCRIPTY.search(value))


def _clean(element: ET.Element) -> tuple[ET.Element, bool]:
    """A copy of ``element`` with only allowed elements and attributes; True when anything was dropped."""
    out = ET.Element(f"{{{_SVG_NS}}}{_local(element.tag)}")
    changed = False
    for key, value in element.attrib.items():
        name = "href" if key == f"{{{_XLINK_NS}}}href" else key
        if "}" in name or not _safe_attribute(name, value):
            changed = True
            continue
        out.set(name, value)
    out.text = element.text
    out.tail = element.tail
    for child in element:
        if not isinstance(child.tag, str) or not child.tag.startswith(f"{{{_SVG_NS}}}"):
            changed = True
            continue
        if _local(child.tag) not in _ALLOWED_ELEMENTS:
            changed = True
            # The dropped element's tail text belongs to the parent, keep the document's text.
            continue
        cleaned, child_changed = _clean(child)
        changed = changed or child_changed
        out.append(cleaned)
    return out, changed


def sanitize_svg(data: bytes) -> tuple[bytes, ET.Element, bool]:
    """Re-serialised safe SVG, its root and whether sanitising removed anything."""
    lowered = data.lower()
    # No DTDs at all: entities are how XML bombs and external fetches get in.
    if b"<!doctype" in lowered or b"<!entity" in lowered:
        raise AssetError("SVG must not have a DOCTYPE or entities")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise AssetError(f"SVG is not well-formed XML ({exc})") from exc
    if root.tag != f"{{{_SVG_NS}}}svg":
        raise AssetError("SVG root must be an <svg> element in the SVG namespace")
    cleaned, changed = _clean(root)
    ET.register_namespace("", _SVG_NS)
    out = ET.tostring(cleaned, encoding="utf-8", xml_declaration=False)
    return out, cleaned, changed


def check_asset(data: bytes, max_bytes: int = MAX_ASSET_BYTES) -> CheckedAsset:
    """The asset to store for an upload, or AssetError saying what is wrong with it."""
    if not data:
        raise AssetError("is empty")
    if len(data) > max_bytes:
        raise AssetError(f"is {len(data)} bytes, more than the {max_bytes} allowed")
    kind = sniff_type(data)
    sanitized = False
    if kind == PNG:
        width, height = png_size(data)
    elif kind == JPEG:
        width, height = jpeg_size(data)
    else:
        data, root, sanitized = sanitize_svg(data)
        width, height = svg_size(root)
    if not (MIN_DIMENSION_PX <= width <= MAX_DIMENSION_PX and MIN_DIMENSION_PX <= height <= MAX_DIMENSION_PX):
        raise AssetError(
            f"is {width}x{height} px; width and height must be {MIN_DIMENSION_PX} to {MAX_DIMENSION_PX} px"
        )
    return CheckedAsset(data=data, content_type=kind, width=width, height=height, sanitized=sanitized)
