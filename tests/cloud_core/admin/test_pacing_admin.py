"""Line item pacing through the admin API and cartads-admin: validation, flags, defaults."""

from __future__ import annotations

import pytest

from cartads.v1 import admin_pb2
from cloud_core.admin import validation as v
from cloud_core.app.server import CloudServer
from tests.cloud_core.helpers import LINE_ITEM_CONTEXT, admin_cli_json, line_item, run_admin_cli, violated_fields

pytestmark = pytest.mark.usefixtures("quiet_server_logs")


def test_unknown_pacing_type_is_named() -> None:
    """A pacing type outside the enum is an INVALID_ARGUMENT on line_item.pacing_type."""
    item = line_item()
    item.pacing_type = 7  # type: ignore[assignment]
    assert violated_fields(v.validate_line_item(item, LINE_ITEM_CONTEXT)) == {"line_item.pacing_type"}


def test_negative_daily_budget_is_named() -> None:
    """A negative daily budget is an INVALID_ARGUMENT on line_item.daily_budget_micros."""
    item = line_item()
    item.daily_budget_micros = -1
    assert violated_fields(v.validate_line_item(item, LINE_ITEM_CONTEXT)) == {"line_item.daily_budget_micros"}


def test_pacing_fields_are_settable() -> None:
    """An update mask may name the pacing type and the daily budget."""
    assert v.check_update_mask(["pacing_type", "daily_budget_micros"], "line_item") == []


async def test_pacing_flags_round_trip(
    cloud_server: CloudServer, seeded_token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--pacing and --daily-budget-micros set on create come back; update changes only the pacing type."""
    create = (
        *("line-items", "create", "--id", "li1", "--campaign", "c1", "--name", "Li", "--pricing", "cpm"),
        *("--bid-micros", "5000000", "--creative", "cr1", "--pacing", "asap", "--daily-budget-micros", "2500000"),
    )
    assert await run_admin_cli(cloud_server, seeded_token, *create) == 0
    item = await admin_cli_json(cloud_server, seeded_token, capsys, "line-items", "get", "li1")
    assert (item["pacing_type"], item["daily_budget_micros"]) == ("PACING_TYPE_ASAP", "2500000")
    item = await admin_cli_json(cloud_server, seeded_token, capsys, "line-items", "update", "li1", "--pacing", "even")
    assert (item["pacing_type"], item["daily_budget_micros"]) == ("PACING_TYPE_EVEN", "2500000")


async def test_line_items_pace_even_by_default(
    cloud_server: CloudServer, seeded_token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A line item created without --pacing paces EVEN with a derived daily budget."""
    create = (
        *("line-items", "create", "--id", "li1", "--campaign", "c1", "--name", "Li", "--pricing", "cpm"),
        *("--bid-micros", "5000000", "--creative", "cr1"),
    )
    assert await run_admin_cli(cloud_server, seeded_token, *create) == 0
    item = await admin_cli_json(cloud_server, seeded_token, capsys, "line-items", "get", "li1")
    assert item["pacing_type"] == admin_pb2.PacingType.Name(admin_pb2.PACING_TYPE_EVEN)
    assert "daily_budget_micros" not in item
