"""AuditRecorder with in-memory fakes: what an entry holds, and a failing trail never fails the change."""

from __future__ import annotations

from datetime import UTC, datetime

from structlog.testing import capture_logs

from cartads.v1 import admin_pb2
from cloud_core.access.api_tokens import InMemoryTokenStore
from cloud_core.access.audit import AuditFilter
from cloud_core.admin.pagination import PageRequest
from cloud_core.admin.tokens import AuditRecorder

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


class ListAudit:
    """An AuditStore in a list."""

    def __init__(self) -> None:
        self.entries: list[admin_pb2.AuditEntry] = []

    async def record_audit(self, entry: admin_pb2.AuditEntry) -> None:
        self.entries.append(entry)

    async def list_audit(self, query: AuditFilter, page: PageRequest) -> list[admin_pb2.AuditEntry]:
        return self.entries


class BrokenAudit(ListAudit):
    async def record_audit(self, entry: admin_pb2.AuditEntry) -> None:
        raise OSError("disk full")


async def test_an_update_entry_names_the_resource_and_the_changed_field() -> None:
    """UpdateStore with a new time zone records store s1 and time_zone before and after only."""
    audit = ListAudit()
    before = admin_pb2.Store(store_id="s1", display_name="M", time_zone="UTC")
    after = admin_pb2.Store(store_id="s1", display_name="M", time_zone="America/Chicago")
    request = admin_pb2.UpdateStoreRequest(store=admin_pb2.Store(store_id="s1"))
    await AuditRecorder(audit, InMemoryTokenStore(), lambda: NOW).record(
        "UpdateStore", request, before, admin_pb2.UpdateStoreResponse(store=after)
    )
    [entry] = audit.entries
    assert (entry.resource_type, entry.resource_id, entry.method) == ("store", "s1", "UpdateStore")
    assert [(c.field, c.before, c.after) for c in entry.changes] == [("time_zone", '"UTC"', '"America/Chicago"')]


async def test_a_created_token_is_recorded_without_its_secret() -> None:
    """CreateApiToken's answer holds the secret; the entry holds the token's fields but not it."""
    audit = ListAudit()
    response = admin_pb2.CreateApiTokenResponse(
        api_token=admin_pb2.ApiToken(token_id="t1", display_name="ops"), secret="cat_s3cr3t"
    )
    await AuditRecorder(audit, InMemoryTokenStore(), lambda: NOW).record(
        "CreateApiToken", admin_pb2.CreateApiTokenRequest(), None, response
    )
    [entry] = audit.entries
    assert entry.resource_id == "t1"
    assert "cat_s3cr3t" not in str(entry)


async def test_a_failing_trail_is_logged_and_does_not_raise() -> None:
    """When the trail cannot be written the change (already committed) is still answered; the log says so."""
    recorder = AuditRecorder(BrokenAudit(), InMemoryTokenStore(), lambda: NOW)
    with capture_logs() as logs:
        await recorder.record(
            "DeleteStore", admin_pb2.DeleteStoreRequest(store_id="s1"), None, admin_pb2.DeleteStoreResponse()
        )
    assert [line["event"] for line in logs] == ["audit_record_failed"]
