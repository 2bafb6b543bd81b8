"""The console's HTTP surface on a real port 0 over an in-memory store: routes, JSON, token check, binding."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from cartads.time_units import HOUR_US
from cloud_core.access.api_tokens import InMemoryTokenStore, TokenAuthenticator, issue_token
from cloud_core.access.policy import Role
from cloud_core.console.http import (
    Access,
    ConsoleBindError,
    ConsoleServer,
    TokenCheck,
    operator_token_check,
    start_console,
)
from cloud_core.console.model import CampaignHours, CampaignTotals, EdgeRow, HourlySpend

NOW_US = 1_780_000_000 * 1_000_000 // HOUR_US * HOUR_US + 30 * 60 * 1_000_000


@dataclass
class FakeConsoleReads:
    """An in-memory ConsoleReads."""

    edges: list[EdgeRow] = field(default_factory=list)
    campaigns: dict[str, CampaignTotals] = field(default_factory=dict)
    hours: dict[str, list[HourlySpend]] = field(default_factory=dict)

    async def console_edges(self) -> list[EdgeRow]:
        return list(self.edges)

    async def console_campaigns(self) -> list[CampaignTotals]:
        return [self.campaigns[k] for k in sorted(self.campaigns)]

    async def console_campaign(self, campaign_id: str) -> CampaignTotals | None:
        return self.campaigns.get(campaign_id)

    async def console_hourly_spend(self, campaign_id: str, since_us: int = 0) -> CampaignHours:
        hours = self.hours.get(campaign_id, [])
        earlier = sum(h.spend_micros for h in hours if h.hour_start_us < since_us)
        return CampaignHours(earlier, tuple(h for h in hours if h.hour_start_us >= since_us))


def _reads() -> FakeConsoleReads:
    start = NOW_US - 3 * HOUR_US
    return FakeConsoleReads(
        edges=[
            EdgeRow("store-1", "edge-1", True, "v2", "v2", "ACK", NOW_US - 5_000_000, 0, "", "", NOW_US - 4_000_000)
        ],
        campaigns={
            "cmp-1": CampaignTotals(
                "cmp-1", "adv-1", "Kombucha", 10_000_000, start, start + 48 * HOUR_US, True, 3, 1, 0, 700
            )
        },
        hours={"cmp-1": [HourlySpend(start, 2, 0, 0, 500), HourlySpend(start + 2 * HOUR_US, 1, 1, 0, 200)]},
    )


async def _tokens(token: str) -> Access:
    return {"viewer-token": Access.GRANTED, "edge-token": Access.FORBIDDEN}.get(token, Access.UNKNOWN_TOKEN)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client session, closed after the test."""
    async with aiohttp.ClientSession() as session:
        yield session


async def _start(token_check: TokenCheck | None = None) -> ConsoleServer:
    return await start_console("127.0.0.1:0", _reads(), token_check=token_check, now_us=lambda: NOW_US)


async def _get(http: aiohttp.ClientSession, server: ConsoleServer, path: str, **kw: Any) -> tuple[int, Any]:
    async with http.get(server.url.rstrip("/") + path, **kw) as response:
        return response.status, await response.json()


async def test_port_zero_reports_the_bound_port(http: aiohttp.ClientSession) -> None:
    """Listening on port 0 binds a free port and reports it."""
    server = await _start()
    try:
        assert server.port > 0
        assert await _get(http, server, "/healthz") == (200, {"ok": True})
    finally:
        await server.stop()


async def test_edges_endpoint_groups_by_store_with_age(http: aiohttp.ClientSession) -> None:
    """/api/edges lists each store's edges with versions and seconds since seen from the injected clock."""
    server = await _start()
    try:
        status, body = await _get(http, server, "/api/edges")
    finally:
        await server.stop()
    assert status == 200
    edge = body["stores"][0]["edges"][0]
    assert (edge["edge_id"], edge["applied_version"], edge["in_sync"]) == ("edge-1", "v2", True)
    assert edge["seconds_since_seen"] == 4.0


async def test_campaigns_endpoint_lists_totals(http: aiohttp.ClientSession) -> None:
    """/api/campaigns answers each campaign's budget, spend and counts."""
    server = await _start()
    try:
        status, body = await _get(http, server, "/api/campaigns")
    finally:
        await server.stop()
    assert status == 200
    [row] = body["campaigns"]
    assert (row["campaign_id"], row["budget_micros"], row["spend_micros"], row["impressions"]) == (
        "cmp-1",
        10_000_000,
        700,
        3,
    )


async def test_spend_endpoint_answers_the_cumulative_series(http: aiohttp.ClientSession) -> None:
    """/api/campaigns/{id}/spend answers hour-by-hour cumulative spend up to the current hour."""
    server = await _start()
    try:
        status, body = await _get(http, server, "/api/campaigns/cmp-1/spend")
    finally:
        await server.stop()
    assert status == 200
    assert [p["cumulative_spend_micros"] for p in body["points"]] == [500, 500, 700, 700]
    assert body["budget_micros"] == 10_000_000


async def test_spend_of_an_unknown_campaign_is_404(http: aiohttp.ClientSession) -> None:
    """An unknown campaign id answers 404 with a JSON error naming it."""
    server = await _start()
    try:
        status, body = await _get(http, server, "/api/campaigns/nope/spend")
    finally:
        await server.stop()
    assert status == 404
    assert "nope" in body["error"]


async def test_an_overlong_campaign_id_is_400(http: aiohttp.ClientSession) -> None:
    """A campaign id beyond the id limit answers 400 naming the field."""
    server = await _start()
    try:
        status, body = await _get(http, server, "/api/campaigns/" + "x" * 300 + "/spend")
    finally:
        await server.stop()
    assert status == 400
    assert body["error"].startswith("campaign_id:")


async def test_console_is_read_only(http: aiohttp.ClientSession) -> None:
    """Writing verbs are refused with 405."""
    server = await _start()
    try:
        async with http.post(server.url + "api/campaigns", json={}) as response:
            assert response.status == 405
    finally:
        await server.stop()


async def test_page_is_served_with_a_same_origin_policy(http: aiohttp.ClientSession) -> None:
    """The page and its script come from the console itself under a CSP that allows nothing else."""
    server = await _start()
    try:
        async with http.get(server.url) as page:
            html = await page.text()
            csp = page.headers["Content-Security-Policy"]
        async with http.get(server.url + "static/console.js") as script:
            assert script.status == 200
    finally:
        await server.stop()
    assert '<canvas id="chart"' in html
    assert "default-src 'none'" in csp
    assert "script-src 'self'" in csp


async def test_experiments_without_a_report_core_say_unavailable(http: aiohttp.ClientSession) -> None:
    """Without experiment results wired in, /api/experiments says they are unavailable."""
    server = await _start()
    try:
        status, body = await _get(http, server, "/api/experiments")
    finally:
        await server.stop()
    assert (status, body["available"]) == (200, False)


async def test_api_without_a_token_is_401_when_tokens_are_checked(http: aiohttp.ClientSession) -> None:
    """With a token check, an API call without a bearer token is refused with 401 and a challenge."""
    server = await _start(_tokens)
    try:
        async with http.get(server.url + "api/edges") as response:
            assert response.status == 401
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
    finally:
        await server.stop()


async def test_unknown_token_is_401(http: aiohttp.ClientSession) -> None:
    """An unknown bearer token is refused with 401."""
    server = await _start(_tokens)
    try:
        status, _ = await _get(http, server, "/api/edges", headers={"Authorization": "Bearer nope"})
    finally:
        await server.stop()
    assert status == 401


async def test_token_without_a_reading_role_is_403(http: aiohttp.ClientSession) -> None:
    """A known token whose role may not read the console is refused with 403."""
    server = await _start(_tokens)
    try:
        status, body = await _get(http, server, "/api/campaigns", headers={"Authorization": "Bearer edge-token"})
    finally:
        await server.stop()
    assert status == 403
    assert "viewer" in body["error"]


async def test_viewer_token_reads_the_api(http: aiohttp.ClientSession) -> None:
    """A viewer token reads the API; the page and its config stay public so it can ask for the token."""
    server = await _start(_tokens)
    try:
        status, _ = await _get(http, server, "/api/campaigns", headers={"Authorization": "Bearer viewer-token"})
        assert status == 200
        assert await _get(http, server, "/config.json") == (200, {"auth_required": True, "experiments": False})
        async with http.get(server.url) as page:
            assert page.status == 200
    finally:
        await server.stop()


async def test_without_a_token_check_only_loopback_is_allowed() -> None:
    """A console without a token check refuses to listen on a non-loopback address."""
    with pytest.raises(ConsoleBindError, match="loopback only"):
        await start_console("0.0.0.0:0", _reads())


async def test_a_malformed_address_is_refused() -> None:
    """An address without a port is refused with a message naming the expected form."""
    with pytest.raises(ConsoleBindError, match="HOST:PORT"):
        await start_console("127.0.0.1", _reads())


@pytest.mark.parametrize(
    ("role", "access"),
    [
        (Role.ADMIN, Access.GRANTED),
        (Role.VIEWER, Access.GRANTED),
        (Role.ADVERTISER, Access.FORBIDDEN),
        (Role.EDGE, Access.FORBIDDEN),
    ],
)
async def test_operator_tokens_read_the_console_by_role(role: Role, access: Access) -> None:
    """Admin and viewer tokens read the console; advertiser (scoped) and edge tokens are forbidden."""
    tokens = InMemoryTokenStore()
    _, secret = await issue_token(tokens, role, NOW_US, advertiser_id="adv-1" if role is Role.ADVERTISER else "")
    check = operator_token_check(TokenAuthenticator(tokens, lambda: 0.0))
    assert await check(secret) is access


async def test_operator_token_check_refuses_unknown_and_revoked_tokens() -> None:
    """An unknown secret and a revoked token are both unknown to the console."""
    tokens = InMemoryTokenStore()
    record, secret = await issue_token(tokens, Role.VIEWER, NOW_US)
    await tokens.revoke_api_token(record.token_id, NOW_US + 1)
    check = operator_token_check(TokenAuthenticator(tokens, lambda: 0.0))
    assert await check(secret) is Access.UNKNOWN_TOKEN
    assert await check("cat_nope") is Access.UNKNOWN_TOKEN


class _BrokenReads(FakeConsoleReads):
    async def console_edges(self) -> list[EdgeRow]:
        raise RuntimeError("disk on fire")


async def test_a_failing_read_answers_json_500_not_a_traceback(http: aiohttp.ClientSession) -> None:
    """When storage fails the API answers a JSON 500 that names no internals."""
    server = await start_console("127.0.0.1:0", _BrokenReads(), now_us=lambda: NOW_US)
    try:
        status, body = await _get(http, server, "/api/edges")
    finally:
        await server.stop()
    assert status == 500
    assert "disk on fire" not in body["error"]


async def test_refusals_and_unknown_paths_carry_the_security_headers(http: aiohttp.ClientSession) -> None:
    """A 401 and a 404 carry the same Content-Security-Policy and no-store as every other answer."""
    server = await _start(_tokens)
    try:
        async with http.get(server.url + "api/edges") as refused:
            assert refused.status == 401
            assert "default-src 'none'" in refused.headers["Content-Security-Policy"]
            assert refused.headers["Cache-Control"] == "no-store"
        async with http.get(server.url + "nowhere") as missing:
            assert missing.status == 404
            assert "default-src 'none'" in missing.headers["Content-Security-Policy"]
    finally:
        await server.stop()
