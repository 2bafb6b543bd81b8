"""``cartads-admin assets upload FILE``: store an image by content hash, in chunks."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from cartads.v1 import admin_pb2, admin_pb2_grpc, asset_pb2

CHUNK_BYTES = 256 * 1024


def upload_requests(path: Path, chunk_bytes: int = CHUNK_BYTES) -> Iterator[admin_pb2.UploadAssetRequest]:
    """The file as UploadAsset messages: the name first, then its bytes in order."""
    yield admin_pb2.UploadAssetRequest(filename=path.name)
    with path.open("rb") as f:
        while chunk := f.read(chunk_bytes):
            yield admin_pb2.UploadAssetRequest(chunk=chunk)


def upload_file(stub: admin_pb2_grpc.AdminServiceStub, path: Path) -> asset_pb2.AssetInfo:
    """Upload ``path``; the stored asset's hash, type and size (SVGs as sanitised)."""
    return stub.UploadAsset(upload_requests(path)).asset


def assets_upload(stub: admin_pb2_grpc.AdminServiceStub, args: argparse.Namespace) -> None:
    """Upload each file and print its sha256 (what creatives create --image-sha256 takes)."""
    for name in args.files:
        info = upload_file(stub, Path(name))
        if args.json:
            print(json.dumps(json_format.MessageToDict(info, preserving_proto_field_name=True), sort_keys=True))
        else:
            note = " (sanitised)" if info.sanitized else ""
            print(f"{info.sha256}  {info.content_type} {info.width}x{info.height} {info.size_bytes} B{note}  {name}")


def add_assets_group(root: Any) -> None:
    """Register ``assets upload`` on the cartads-admin subcommand parser."""
    parser = root.add_parser("assets", help="creative images", description="creative images (PNG, JPEG, SVG)")
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    text = "upload images; prints each one's sha256 for creatives create --image-sha256"
    upload = sub.add_parser("upload", help=text, description=text)
    upload.add_argument("files", nargs="+", metavar="FILE")
    upload.set_defaults(handler=assets_upload)
