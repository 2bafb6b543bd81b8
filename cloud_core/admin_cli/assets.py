"""``cartads-admin assets upload FILE``: store an image by content hash, in chunks."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

from cartads.v1 import admin_pb2, asset_pb2
from cloud_core.admin_cli.command import Stub, Subcommands, add_command, add_group
from cloud_core.admin_cli.output import message_json

CHUNK_BYTES = 256 * 1024


def upload_requests(path: Path, chunk_bytes: int = CHUNK_BYTES) -> Iterator[admin_pb2.UploadAssetRequest]:
    """The file as UploadAsset messages: the name first, then its bytes in order."""
    yield admin_pb2.UploadAssetRequest(filename=path.name)
    with path.open("rb") as f:
        while chunk := f.read(chunk_bytes):
            yield admin_pb2.UploadAssetRequest(chunk=chunk)


def upload_file(stub: Stub, path: Path) -> asset_pb2.AssetInfo:
    """Upload ``path``; the stored asset's hash, type and size (SVGs as sanitised)."""
    return stub.UploadAsset(upload_requests(path)).asset


def assets_upload(stub: Stub, args: argparse.Namespace) -> None:
    """Upload each file and print its sha256 (what creatives create --image-sha256 takes)."""
    for name in args.files:
        info = upload_file(stub, Path(name))
        if args.json:
            print(message_json(info, indent=None))
        else:
            note = " (sanitised)" if info.sanitized else ""
            print(f"{info.sha256}  {info.content_type} {info.width}x{info.height} {info.size_bytes} B{note}  {name}")


def register(root: Subcommands) -> None:
    group = add_group(root, "assets", "creative images", "creative images (PNG, JPEG, SVG)")
    text = "upload images; prints each one's sha256 for creatives create --image-sha256"
    add_command(group, "upload", assets_upload, text).add_argument("files", nargs="+", metavar="FILE")
