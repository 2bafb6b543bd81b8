"""The console's report exports panel: the newest export jobs (any advertiser's: the console is for
operators), each with its state, progress, size and the report it runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from google.protobuf import json_format

from cloud_core.admin.exports.jobs import export_pb
from cloud_core.storage.protocol import ReportExportRow


class RecentExports(Protocol):
    """The newest export jobs (storage/exports/jobs.py)."""

    async def recent_exports(self, limit: int) -> list[ReportExportRow]: ...


def export_json(row: ReportExportRow) -> dict[str, Any]:
    """One job as the panel shows it: the ReportExport message's fields, enum names, times as RFC 3339."""
    return json_format.MessageToDict(
        export_pb(row), preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def exports_reader(exports: RecentExports) -> Callable[[int], Awaitable[list[dict[str, Any]]]]:
    """The console's read of the newest ``limit`` export jobs."""

    async def read(limit: int) -> list[dict[str, Any]]:
        return [export_json(row) for row in await exports.recent_exports(limit)]

    return read
