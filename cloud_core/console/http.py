"""The operator console: a read-only web page and its JSON API, served by ``cartads-cloud`` over HTTP.

Plain HTML/CSS/JS shipped in the package (``static/``), no build step and nothing from the
internet (the Content-Security-Policy allows only the console's own origin). Every route is a GET;
the API answers JSON that ``console_model`` shapes from storage rows. The API needs
``Authorization: Bearer <token>`` with an admin or viewer token, the same tokens as AdminService;
a console started without a token check (tests, tools) only listens on loopback.
"""

from __future__ import annotations

import enum
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import structlog
from aiohttp import web

from cartads.bounds import clip
from cartads.time_units import DAY_US, ts_to_us
from cartads.time_units import now_us as wall_now_us
from cartads.v1 import admin_pb2
from cloud_core.access.audit import AuditFilter, check_audit_filter
from cloud_core.access.policy import Principal, Role
from cloud_core.admin.pagination import PageRequest
from cloud_core.console.model import (
    DEFAULT_MAX_POINTS,
    campaign_json,
    edges_json,
    series_json,
    spend_series,
    window_start_us,
)
from cloud_core.console.panels import CampaignForecast, ExportJobs, exports_response, forecast_response
from cloud_core.storage.protocol import AuditStore, ConsoleReads

_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_MAX_ID_CHARS = 256
_log = structlog.get_logger("cloud.console")
# Experiment results cover this many days up to now unless ?days= says otherwise.
DEFAULT_EXPERIMENT_DAYS = 30
MAX_EXPERIMENT_DAYS = 400
# The audit panel shows this many of the newest matching entries unless ?limit= says otherwise.
DEFAULT_AUDIT_ROWS = 50
MAX_AUDIT_ROWS = 500


class Access(enum.Enum):
    """What a bearer token may do with the console."""

    GRANTED = "granted"
    UNKNOWN_TOKEN = "unknown_token"
    FORBIDDEN = "forbidden"


# Decides a bearer token (never empty) for the console's read-only API.
TokenCheck = Callable[[str], Awaitable[Access]]
# The experiment results over [start_us, end_us) (cloud_core.console.experiments.read_experiments).
ExperimentResults = Callable[[int, int], Awaitable[dict[str, Any]]]
# A campaign's delivery status as JSON (GetDeliveryStatusResponse's fields), None when it does not exist.
DeliveryStatus = Callable[[str], Awaitable[dict[str, Any] | None]]


class Authenticator(Protocol):
    """Bearer secret → the principal it stands for (``cloud_core.access.api_tokens.TokenAuthenticator``)."""

    async def authenticate(self, secret: str) -> Principal | None: ...


# The console shows every advertiser's campaigns and every store's edges: an advertiser token (scoped
# to its own campaigns) and an edge token may not read it.
CONSOLE_ROLES = frozenset({Role.ADMIN, Role.VIEWER})


def operator_token_check(authenticator: Authenticator) -> TokenCheck:
    """The console's token check over the same tokens as AdminService: viewer or admin tokens read it."""

    async def check(secret: str) -> Access:
        principal = await authenticator.authenticate(secret)
        if principal is None:
            return Access.UNKNOWN_TOKEN
        return Access.GRANTED if principal.role in CONSOLE_ROLES else Access.FORBIDDEN

    return check


class ConsoleBindError(ValueError):
    """The console was asked to listen somewhere it must not."""


def static_dir() -> Path:
    """The page's files, shipped inside the package."""
    return Path(str(resources.files("cloud_core.console") / "static"))


def split_address(address: str) -> tuple[str, int]:
    """("host", port) of "host:port" or "[v6]:port"; raises ConsoleBindError naming what is wrong."""
    host, sep, port = address.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConsoleBindError(f"console address must be HOST:PORT, got {address!r}")
    return host, int(port)


def is_loopback(host: str) -> bool:
    """Whether ``host`` only reaches this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class ConsoleServer:
    """A running console; ``port`` is the bound port (useful with port 0)."""

    runner: web.AppRunner
    host: str
    port: int
    auth_required: bool

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    async def stop(self) -> None:
        """Stop serving; idempotent."""
        await self.runner.cleanup()


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


def _secure(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Content-Security-Policy"] = _CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    if request.path.startswith("/api/"):
        response.headers["Cache-Control"] = "no-store"


@dataclass(frozen=True)
class _Console:
    """The console's request handlers over its reads; every one is a GET."""

    reads: ConsoleReads
    token_check: TokenCheck | None
    experiments: ExperimentResults | None
    now_us: Callable[[], int]
    max_points: int
    audit: AuditStore | None = None
    delivery: DeliveryStatus | None = None
    exports: ExportJobs | None = None
    forecast: CampaignForecast | None = None

    async def refusal(self, request: web.Request) -> web.Response | None:
        """Why an API request may not be answered (401/403), or None when it may."""
        if self.token_check is None or not request.path.startswith("/api/"):
            return None
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        challenge = {"WWW-Authenticate": 'Bearer realm="cartads-console"'}
        if scheme.lower() != "bearer" or not token:
            return _error(401, "a bearer token is required (Authorization: Bearer <token>)", challenge)
        access = await self.token_check(token)
        if access is Access.UNKNOWN_TOKEN:
            return _error(401, "the token is unknown, expired or revoked", challenge)
        if access is not Access.GRANTED:
            return _error(403, "the token's role may not read the console (viewer or better needed)")
        return None

    @web.middleware
    async def guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Token check first; same security headers on every answer; JSON, not a traceback, on failure."""
        try:
            response: web.StreamResponse | None = await self.refusal(request)
            if response is None:
                response = await handler(request)
        except web.HTTPException as exc:  # aiohttp's own 404 and 405
            _secure(request, exc)
            raise
        except Exception:
            # The page shows the message; the log keeps the traceback for the operator.
            _log.exception("console_request_failed", path=request.path)
            response = _error(500, "the console could not read the database; see the cloud's log")
        assert response is not None
        _secure(request, response)
        return response

    async def index(self, _: web.Request) -> web.StreamResponse:
        return web.FileResponse(static_dir() / "index.html", headers={"Cache-Control": "no-cache"})

    async def healthz(self, _: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def config(self, _: web.Request) -> web.Response:
        return web.json_response(
            {"auth_required": self.token_check is not None, "experiments": self.experiments is not None}
        )

    async def edges(self, _: web.Request) -> web.Response:
        rows = await self.reads.console_edges()
        return web.json_response(edges_json(rows, self.now_us()))

    async def campaigns(self, _: web.Request) -> web.Response:
        campaigns = await self.reads.console_campaigns()
        return web.json_response({"now_us": self.now_us(), "campaigns": [campaign_json(c) for c in campaigns]})

    async def campaign_spend(self, request: web.Request) -> web.Response:
        campaign_id = request.match_info["campaign_id"]
        if len(campaign_id) > _MAX_ID_CHARS:
            return _error(400, f"campaign_id: must be at most {_MAX_ID_CHARS} characters")
        campaign = await self.reads.console_campaign(campaign_id)
        if campaign is None:
            return _error(404, f"campaign {clip(campaign_id)!r} not found")
        now = self.now_us()
        since = window_start_us(
            flight_start_us=campaign.start_time_us,
            flight_end_us=campaign.end_time_us,
            now_us=now,
            max_points=self.max_points,
        )
        read = await self.reads.console_hourly_spend(campaign_id, since)
        series = spend_series(
            read.hours,
            budget_micros=campaign.budget_micros,
            flight_start_us=campaign.start_time_us,
            flight_end_us=campaign.end_time_us,
            now_us=now,
            max_points=self.max_points,
            earlier_spend_micros=read.earlier_spend_micros,
        )
        return web.json_response(series_json(campaign, series))

    async def delivery_status(self, request: web.Request) -> web.Response:
        campaign_id = request.match_info["campaign_id"]
        if len(campaign_id) > _MAX_ID_CHARS:
            return _error(400, f"campaign_id: must be at most {_MAX_ID_CHARS} characters")
        if self.delivery is None:
            return web.json_response({"available": False})
        status = await self.delivery(campaign_id)
        if status is None:
            return _error(404, f"campaign {clip(campaign_id)!r} not found")
        return web.json_response({"available": True, **status})

    async def experiment_results(self, request: web.Request) -> web.Response:
        raw = request.query.get("days", str(DEFAULT_EXPERIMENT_DAYS))
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_EXPERIMENT_DAYS:
            return _error(400, f"days: must be a whole number from 1 to {MAX_EXPERIMENT_DAYS}")
        if self.experiments is None:
            return web.json_response({"available": False, "layers": []})
        end_us = self.now_us()
        results = await self.experiments(end_us - int(raw) * DAY_US, end_us)
        return web.json_response({"available": True, "days": int(raw), **results})

    async def campaign_forecast(self, request: web.Request) -> web.Response:
        return await forecast_response(request, self.forecast)

    async def export_jobs(self, request: web.Request) -> web.Response:
        return await exports_response(request, self.exports)

    async def audit_entries(self, request: web.Request) -> web.Response:
        """The newest audit entries matching ?resource_type=&resource_id=&actor=, at most ?limit= of them."""
        raw = request.query.get("limit", str(DEFAULT_AUDIT_ROWS))
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_AUDIT_ROWS:
            return _error(400, f"limit: must be a whole number from 1 to {MAX_AUDIT_ROWS}")
        query = AuditFilter(
            resource_type=request.query.get("resource_type", ""),
            resource_id=request.query.get("resource_id", ""),
            actor_token_id=request.query.get("actor", ""),
        )
        if problems := check_audit_filter(query):
            return _error(400, "; ".join(f"{field}: {why}" for field, why in problems))
        if self.audit is None:
            return web.json_response({"available": False, "entries": []})
        rows = (await self.audit.list_audit(query, PageRequest("", int(raw))))[: int(raw)]
        return web.json_response({"available": True, "entries": [_audit_json(e) for e in rows]})


def _audit_json(entry: admin_pb2.AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.audit_entry_id,
        "time_us": ts_to_us(entry.time),
        "actor_token_id": entry.actor_token_id,
        "actor_display_name": entry.actor_display_name,
        "actor_role": entry.actor_role,
        "method": entry.method,
        "resource_type": entry.resource_type,
        "resource_id": entry.resource_id,
        "changes": [{"field": c.field, "before": c.before, "after": c.after} for c in entry.changes],
    }


def build_app(
    reads: ConsoleReads,
    *,
    token_check: TokenCheck | None = None,
    experiments: ExperimentResults | None = None,
    now_us: Callable[[], int] = wall_now_us,
    max_points: int = DEFAULT_MAX_POINTS,
    audit: AuditStore | None = None,
    delivery: DeliveryStatus | None = None,
    exports: ExportJobs | None = None,
    forecast: CampaignForecast | None = None,
) -> web.Application:
    """The console's aiohttp application: the page, its files and the read-only JSON API."""
    console = _Console(reads, token_check, experiments, now_us, max_points, audit, delivery, exports, forecast)
    app = web.Application(middlewares=[console.guard])
    # The public part: the page itself and what it needs to ask for a token.
    app.router.add_get("/", console.index)
    app.router.add_get("/healthz", console.healthz)
    app.router.add_get("/config.json", console.config)
    app.router.add_static("/static/", static_dir(), append_version=False)
    # The API, behind the token check when there is one.
    app.router.add_get("/api/edges", console.edges)
    app.router.add_get("/api/campaigns", console.campaigns)
    app.router.add_get("/api/campaigns/{campaign_id}/spend", console.campaign_spend)
    app.router.add_get("/api/campaigns/{campaign_id}/delivery", console.delivery_status)
    app.router.add_get("/api/experiments", console.experiment_results)
    app.router.add_get("/api/audit", console.audit_entries)
    app.router.add_get("/api/exports", console.export_jobs)
    app.router.add_get("/api/campaigns/{campaign_id}/forecast", console.campaign_forecast)
    return app


async def start_console(
    address: str,
    reads: ConsoleReads,
    *,
    token_check: TokenCheck | None = None,
    experiments: ExperimentResults | None = None,
    now_us: Callable[[], int] = wall_now_us,
    audit: AuditStore | None = None,
    delivery: DeliveryStatus | None = None,
    exports: ExportJobs | None = None,
    forecast: CampaignForecast | None = None,
) -> ConsoleServer:
    """Serve the console on ``address`` ("host:port", port 0 picks one).

    Without a token check anyone who can reach the port reads every campaign's spend, so the
    console then refuses any address but loopback.
    """
    host, port = split_address(address)
    if token_check is None and not is_loopback(host):
        raise ConsoleBindError(
            f"the console has no token check, so it serves loopback only (127.0.0.1 or ::1), not {host!r}"
        )
    app = build_app(
        reads,
        token_check=token_check,
        experiments=experiments,
        now_us=now_us,
        audit=audit,
        delivery=delivery,
        exports=exports,
        forecast=forecast,
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    # Binding the socket here tells us the port when the address asked for port 0.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        await web.SockSite(runner, sock).start()
    except OSError as exc:
        sock.close()
        await runner.cleanup()
        raise ConsoleBindError(f"cannot listen on {address}: {exc.strerror or exc}") from exc
    except BaseException:
        sock.close()
        await runner.cleanup()
        raise
    return ConsoleServer(runner, host, int(sock.getsockname()[1]), auth_required=token_check is not None)
