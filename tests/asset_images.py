"""Small real images for asset tests: a PNG and a JPEG header made in code, and SVG texts."""

from __future__ import annotations

import struct
import zlib


def png_bytes(width: int = 64, height: int = 48, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid solid-colour RGB PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * width
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b"")
    )


def jpeg_header(width: int = 120, height: int = 90) -> bytes:
    """The start of a baseline JPEG: SOI, an APP0 segment and a start-of-frame with the size."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8" + app0 + sof + b"\xff\xda" + struct.pack(">H", 12) + b"\x00" * 10


HOSTILE_SVG = b"""<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     width="200" height="100" onload="alert(1)">
  <script>alert('pwned')</script>
  <rect x="0" y="0" width="200" height="100" fill="url(http://evil.example/x.svg#p)" onclick="steal()"/>
  <a href="javascript:alert(2)"><text x="10" y="50">Click</text></a>
  <image href="http://evil.example/track.png" width="10" height="10"/>
  <use xlink:href="http://evil.example/sprite.svg#icon"/>
  <use href="#local"/>
  <foreignObject width="100" height="100"><iframe xmlns="http://www.w3.org/1999/xhtml" src="http://evil.example"/></foreignObject>
  <circle id="local" cx="50" cy="50" r="20" fill="#0a7d32" style="background:url(http://evil.example/)"/>
  <text x="10" y="90" font-size="12">Fresh</text>
</svg>
"""
