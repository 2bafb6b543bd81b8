"""The console's audit API (``/api/audit``) on a real cloud, both engines: the same entries as
ListAuditEntries, operators only, and bad parameters answered 400 naming them."""

from __future__ import annotations

from cartads.v1 import admin_pb2
from tests.cloud_core.console.test_api import _get
from tests.cloud_core.console.world import ConsoleWorld


async def test_audit_api_lists_what_list_audit_entries_lists(world: ConsoleWorld) -> None:
    """The newest creative entries in the console are ListAuditEntries' own, field for field."""
    listed = await world.admin.ListAuditEntries(admin_pb2.ListAuditEntriesRequest(resource_type="creative"))
    status, body = await _get(world, "api/audit?resource_type=creative", world.viewer_token)
    assert status == 200
    shown = [(e["method"], e["resource_id"], e["actor_token_id"], len(e["changes"])) for e in body["entries"]]
    assert shown == [(e.method, e.resource_id, e.actor_token_id, len(e.changes)) for e in listed.audit_entries]
    assert [e["method"] for e in body["entries"]] == ["ApproveCreative", "CreateCreative"]


async def test_audit_api_is_for_operators_only(world: ConsoleWorld) -> None:
    """An advertiser token gets 403 from /api/audit."""
    status, _ = await _get(world, "api/audit", world.advertiser_token)
    assert status == 403


async def test_audit_api_names_a_bad_parameter(world: ConsoleWorld) -> None:
    """limit=0 and an unknown resource_type each answer 400 naming the parameter."""
    status, body = await _get(world, "api/audit?limit=0", world.viewer_token)
    assert (status, body["error"].split(":")[0]) == (400, "limit")
    status, body = await _get(world, "api/audit?resource_type=widget", world.viewer_token)
    assert (status, body["error"].split(":")[0]) == (400, "resource_type")
