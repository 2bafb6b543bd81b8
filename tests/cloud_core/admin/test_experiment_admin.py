"""AdminService experiment layers and RunReport over a real cloud: validation, compile, report export."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest

from cartads.time_units import now_us
from cartads.v1 import admin_pb2, common_pb2
from cloud_core.admin import reports as admin_reports
from cloud_core.admin.experiments import SALT_BYTES
from cloud_core.app.server import CloudServer
from cloud_core.events.outcomes import EventOutcome
from tests.cloud_core.helpers import run_admin_cli_as_admin, violations_of

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub


pytestmark = pytest.mark.usefixtures("quiet_server_logs")


def _layer(*arms: admin_pb2.ExperimentArm, name: str = "test") -> admin_pb2.ExperimentLayer:
    return admin_pb2.ExperimentLayer(display_name=name, arms=list(arms))


def _arm(arm_id: str, bps: int, **overrides: float) -> admin_pb2.ExperimentArm:
    arm = admin_pb2.ExperimentArm(arm_id=arm_id, traffic_bps=bps)
    for key, value in overrides.items():
        setattr(arm.overrides, key, value)
    return arm


async def _create(admin: AdminServiceAsyncStub, layer_id: str, layer: admin_pb2.ExperimentLayer) -> None:
    await admin.CreateExperimentLayer(admin_pb2.CreateExperimentLayerRequest(layer_id=layer_id, experiment_layer=layer))


async def test_create_fills_salt_and_state(admin: AdminServiceAsyncStub) -> None:
    """A new layer gets a random salt and starts ACTIVE; Get returns its arms."""
    await _create(admin, "L1", _layer(_arm("a", 5000), _arm("b", 5000, click_rate_weight=1.5)))
    await _create(admin, "L2", _layer(_arm("a", 5000)))
    got = (await admin.GetExperimentLayer(admin_pb2.GetExperimentLayerRequest(layer_id="L1"))).experiment_layer
    other = (await admin.GetExperimentLayer(admin_pb2.GetExperimentLayerRequest(layer_id="L2"))).experiment_layer
    assert len(got.salt) == 2 * SALT_BYTES  # hex
    assert got.salt != other.salt
    assert got.state == admin_pb2.SERVING_STATE_ACTIVE
    assert got.arms[1].overrides.click_rate_weight == pytest.approx(1.5)


async def test_shares_over_100_percent_are_refused_with_the_field(admin: AdminServiceAsyncStub) -> None:
    """Arms summing above 10,000 basis points are INVALID_ARGUMENT on experiment_layer.arms."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _create(admin, "L1", _layer(_arm("a", 6000), _arm("b", 5000)))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "experiment_layer.arms" in violations_of(caught.value)


async def test_holdout_with_overrides_is_refused(admin: AdminServiceAsyncStub) -> None:
    """A holdout arm cannot also override ranking parameters."""
    arm = _arm("h", 1000, reserve_cpm_micros=5)
    arm.holdout = True
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _create(admin, "L1", _layer(arm))
    assert "experiment_layer.arms[0].overrides" in violations_of(caught.value)


async def test_two_active_layers_may_not_override_one_parameter(admin: AdminServiceAsyncStub) -> None:
    """A parameter belongs to one active layer: a second layer overriding it is refused."""
    await _create(admin, "L1", _layer(_arm("a", 5000, reserve_cpm_micros=1000)))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _create(admin, "L2", _layer(_arm("b", 5000, reserve_cpm_micros=2000)))
    assert "already overridden by active layer 'L1'" in violations_of(caught.value)["experiment_layer.arms"]


async def test_update_with_mask_and_delete(admin: AdminServiceAsyncStub) -> None:
    """Update changes only the masked field; Delete removes the layer (then NOT_FOUND)."""
    await _create(admin, "L1", _layer(_arm("a", 5000)))
    request = admin_pb2.UpdateExperimentLayerRequest(
        experiment_layer=admin_pb2.ExperimentLayer(layer_id="L1", state=admin_pb2.SERVING_STATE_PAUSED)
    )
    request.update_mask.paths.append("state")
    updated = (await admin.UpdateExperimentLayer(request)).experiment_layer
    assert (updated.state, len(updated.arms)) == (admin_pb2.SERVING_STATE_PAUSED, 1)
    await admin.DeleteExperimentLayer(admin_pb2.DeleteExperimentLayerRequest(layer_id="L1"))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await admin.GetExperimentLayer(admin_pb2.GetExperimentLayerRequest(layer_id="L1"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_report_without_range_is_invalid(admin: AdminServiceAsyncStub) -> None:
    """RunReport needs start_time and end_time, named in the field violations."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await admin.RunReport(admin_pb2.RunReportRequest(dimensions=[admin_pb2.REPORT_DIMENSION_DAY]))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert {"start_time", "end_time"} <= set(violations_of(caught.value))


async def test_report_with_repeated_dimension_is_invalid(admin: AdminServiceAsyncStub) -> None:
    """A dimension named twice is INVALID_ARGUMENT on dimensions[i]."""
    request = admin_pb2.RunReportRequest(
        dimensions=[admin_pb2.REPORT_DIMENSION_STORE, admin_pb2.REPORT_DIMENSION_STORE], time_zone="Mars/Base"
    )
    request.start_time.seconds, request.end_time.seconds = 0, 3600
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await admin.RunReport(request)
    assert {"dimensions[1]", "time_zone"} <= set(violations_of(caught.value))


async def _billed(cloud_server: CloudServer) -> None:
    hour = now_us() - now_us() % 3_600_000_000
    events = [
        EventOutcome(
            seq=i,
            event_id=f"e{i}",
            event_type=kind,
            cart_id="c",
            session_id="t",
            event_blob=b"",
            receive_time_us=hour,
            ad_id=f"ad{i}",
            advertiser_id="adv",
            campaign_id=campaign,
            line_item_id=f"li-{campaign}",
            creative_id="cr",
            pricing_model=common_pb2.PRICING_MODEL_CPM,
            billable=True,
            charge_micros=charge,
            experiment_arms=(("L1", "a"),),
        )
        for i, (kind, campaign, charge) in enumerate(
            [(common_pb2.EVENT_TYPE_IMPRESSION, "c1", 1000), (common_pb2.EVENT_TYPE_IMPRESSION, "c2", 3000)]
        )
    ]
    await cloud_server.store.ledger.record_events("s1", "edge", events)


async def test_report_csv_export(cloud_server: CloudServer, capsys: pytest.CaptureFixture[str]) -> None:
    """report run --by campaign --format csv prints a header, a row per campaign and the totals."""
    await _billed(cloud_server)
    assert await run_admin_cli_as_admin(cloud_server, "report", "run", "--by", "campaign", "--format", "csv") == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["campaign_id"], r["impressions"], r["spend_micros"]) for r in rows] == [
        ("c1", "1", "1000"),
        ("c2", "1", "3000"),
        ("total", "2", "4000"),
    ]
    assert rows[0]["ecpm_micros"] == "1000000"


async def test_report_json_export_to_file(
    cloud_server: CloudServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """report run --by arm --format json --output writes the whole response as JSON."""
    await _billed(cloud_server)
    out = tmp_path / "report.json"
    assert (
        await run_admin_cli_as_admin(
            cloud_server, "report", "run", "--by", "arm", "--format", "json", "--output", str(out)
        )
        == 0
    )
    report = json.loads(out.read_text())
    assert [(r["layer_id"], r["arm_id"], r["metrics"]["impressions"]) for r in report["rows"]] == [("L1", "a", "2")]
    assert capsys.readouterr().err.startswith("wrote 1 rows")


async def test_experiments_cli_creates_and_lists(cloud_server: CloudServer, capsys: pytest.CaptureFixture[str]) -> None:
    """experiments create parses arms with overrides and holdouts; list --json shows them."""
    code = await run_admin_cli_as_admin(
        cloud_server,
        *("experiments", "create", "--id", "L9", "--name", "reserve"),
        *("--arm", "ctl:4000", "--arm", "hi:4000:reserve_cpm_micros=2000000", "--arm", "hold:1000:holdout"),
    )
    assert code == 0
    capsys.readouterr()
    assert await run_admin_cli_as_admin(cloud_server, "--json", "experiments", "list") == 0
    (layer,) = json.loads(capsys.readouterr().out)
    assert [a["arm_id"] for a in layer["arms"]] == ["ctl", "hi", "hold"]
    assert layer["arms"][1]["overrides"]["reserve_cpm_micros"] == "2000000"
    assert layer["arms"][2]["holdout"] is True


async def test_experiments_cli_bad_arm_is_usage_error(
    cloud_server: CloudServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A malformed --arm is a one-line usage error, not a traceback."""
    assert await run_admin_cli_as_admin(cloud_server, "experiments", "create", "--name", "x", "--arm", "a:lots") == 2
    assert "whole basis points" in capsys.readouterr().err


async def test_report_too_large_for_one_response_is_refused(
    cloud_server: CloudServer, admin: AdminServiceAsyncStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A report with more rows than one response may carry is INVALID_ARGUMENT on dimensions."""
    monkeypatch.setattr(admin_reports, "MAX_REPORT_ROWS", 1)
    await _billed(cloud_server)
    request = admin_pb2.RunReportRequest(dimensions=[admin_pb2.REPORT_DIMENSION_CAMPAIGN])
    request.start_time.FromMicroseconds(now_us() - 3_600_000_000)
    request.end_time.FromMicroseconds(now_us() + 3_600_000_000)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await admin.RunReport(request)
    assert "narrow its range" in violations_of(caught.value)["dimensions"]
