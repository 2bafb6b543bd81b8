"""How ``cartads-admin`` prints: aligned tables, or JSON with ``--json``."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Sequence
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp


def message_json(message: Message, indent: int | None = 2) -> str:
    """The message as JSON with the proto's field names, keys sorted."""
    return json.dumps(
        json_format.MessageToDict(message, preserving_proto_field_name=True), indent=indent, sort_keys=True
    )


def table_lines(rows: Sequence[Sequence[str]]) -> list[str]:
    """The rows (header first) with each column padded to its widest cell."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def print_table(rows: Sequence[Sequence[str]]) -> None:
    for line in table_lines(rows):
        print(line)


def emit(args: argparse.Namespace, rows: Sequence[Message], columns: Sequence[str], single: bool = False) -> None:
    """Print rows as a table, or as JSON with --json (one object when ``single``)."""
    if args.json:
        dicts = [json_format.MessageToDict(r, preserving_proto_field_name=True) for r in rows]
        print(json.dumps(dicts[0] if single and dicts else dicts, indent=2, sort_keys=True))
        return
    print_table([list(columns)] + [[_clip(_cell(r, c)) for c in columns] for r in rows])


def emit_json_or(args: argparse.Namespace, message: Message, text: str) -> None:
    """The message as JSON with --json, else ``text``."""
    print(message_json(message) if args.json else text)


def _cell(msg: Message, name: str) -> str:
    field = msg.DESCRIPTOR.fields_by_name[name]
    value = getattr(msg, name)
    if field.enum_type is not None:
        names = [field.enum_type.values_by_number[int(v)].name for v in (value if _repeated(field) else [value])]
        return ",".join(_short_enum(field.enum_type.name, n) for n in names)
    if isinstance(value, Timestamp):
        return value.ToJsonString() if value.seconds or value.nanos else ""
    if _repeated(field):
        return ",".join(str(v) for v in value)
    return str(value)


def _short_enum(type_name: str, value_name: str) -> str:
    """An enum value without its type's prefix (buf's ENUM_VALUE_PREFIX): CREATIVE_REVIEW_STATUS_PENDING is PENDING."""
    prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", type_name).upper() + "_"
    if value_name.startswith(prefix):
        return value_name[len(prefix) :]
    return value_name.split("_", 2)[-1] if value_name.count("_") >= 2 else value_name


def _clip(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _repeated(field: Any) -> bool:
    return bool(field.is_repeated)
