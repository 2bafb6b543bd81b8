"""Who may call what: roles, the AdminService method table and the edge rules (pure; no I/O, no gRPC).

The shell (``cloud_core.access.auth``) turns a call's bearer token and client certificate into a
``Principal``, asks these functions for a ``Decision``, and for advertiser tokens resolves which
advertiser owns each resource a request names (``references``) before asking ``check_owners``.

Scoping rule for advertiser tokens (AIP-211): a request that names a resource of another advertiser
is answered PERMISSION_DENIED whether or not that resource exists, so ids cannot be probed; lists
are narrowed to the token's advertiser (a filter naming another advertiser is PERMISSION_DENIED).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum

BEARER_PREFIX = "bearer "


class Role(StrEnum):
    ADMIN = "admin"
    ADVERTISER = "advertiser"
    VIEWER = "viewer"
    EDGE = "edge"


OPERATOR_ROLES = frozenset({Role.ADMIN, Role.ADVERTISER, Role.VIEWER})


@dataclass(frozen=True)
class Principal:
    """The caller a valid token stands for."""

    token_id: str
    role: Role
    advertiser_id: str = ""
    store_id: str = ""


class Outcome(Enum):
    ALLOW = "allow"
    UNAUTHENTICATED = "unauthenticated"
    PERMISSION_DENIED = "permission_denied"


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: str = ""

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.ALLOW


ALLOW = Decision(Outcome.ALLOW)


def _deny(reason: str) -> Decision:
    return Decision(Outcome.PERMISSION_DENIED, reason)


def _unauthenticated(reason: str) -> Decision:
    return Decision(Outcome.UNAUTHENTICATED, reason)


def bearer_secret(header_values: Sequence[str]) -> str | None:
    """The token of ``authorization: Bearer <token>``; None when there is no such header, "" when malformed."""
    if not header_values:
        return None
    value = header_values[0].strip()
    if not value.lower().startswith(BEARER_PREFIX):
        return ""
    return value[len(BEARER_PREFIX) :].strip()


# ---- AdminService ----


class Kind(Enum):
    """What a method does: READ (viewers may), WRITE (admins and, when scoped, advertisers), SECRET (admins)."""

    READ = "read"
    WRITE = "write"
    SECRET = "secret"


class AdvertiserAccess(Enum):
    """How an advertiser token may use a method."""

    DENIED = "denied"
    # Shared data an advertiser needs to target (stores, their catalogs) or adds (content-addressed assets).
    SHARED = "shared"
    # Only on its own resources; see ``references``.
    OWN = "own"


@dataclass(frozen=True)
class MethodRule:
    kind: Kind
    advertiser: AdvertiserAccess = AdvertiserAccess.DENIED


_R, _W = Kind.READ, Kind.WRITE
_OWN, _SHARED = AdvertiserAccess.OWN, AdvertiserAccess.SHARED

METHOD_RULES: Mapping[str, MethodRule] = {
    "CreateAdvertiser": MethodRule(_W),
    "GetAdvertiser": MethodRule(_R, _OWN),
    "ListAdvertisers": MethodRule(_R, _OWN),
    "UpdateAdvertiser": MethodRule(_W, _OWN),
    "DeleteAdvertiser": MethodRule(_W),
    "CreateCampaign": MethodRule(_W, _OWN),
    "GetCampaign": MethodRule(_R, _OWN),
    "ListCampaigns": MethodRule(_R, _OWN),
    "UpdateCampaign": MethodRule(_W, _OWN),
    "DeleteCampaign": MethodRule(_W, _OWN),
    "PauseCampaign": MethodRule(_W, _OWN),
    "ResumeCampaign": MethodRule(_W, _OWN),
    "CreateLineItem": MethodRule(_W, _OWN),
    "GetLineItem": MethodRule(_R, _OWN),
    "ListLineItems": MethodRule(_R, _OWN),
    "UpdateLineItem": MethodRule(_W, _OWN),
    "DeleteLineItem": MethodRule(_W, _OWN),
    "PauseLineItem": MethodRule(_W, _OWN),
    "ResumeLineItem": MethodRule(_W, _OWN),
    "CreateCreative": MethodRule(_W, _OWN),
    "GetCreative": MethodRule(_R, _OWN),
    "ListCreatives": MethodRule(_R, _OWN),
    "UpdateCreative": MethodRule(_W, _OWN),
    "DeleteCreative": MethodRule(_W, _OWN),
    # Review is the operator's: an advertiser may never approve its own creative.
    "ApproveCreative": MethodRule(_W),
    "RejectCreative": MethodRule(_W),
    "CreateStore": MethodRule(_W),
    "GetStore": MethodRule(_R, _SHARED),
    "ListStores": MethodRule(_R, _SHARED),
    "UpdateStore": MethodRule(_W),
    "DeleteStore": MethodRule(_W),
    "ImportCatalog": MethodRule(_W),
    "ListProducts": MethodRule(_R, _SHARED),
    "ListAisles": MethodRule(_R, _SHARED),
    "GetSpendReport": MethodRule(_R, _OWN),
    # An advertiser token's advertiser_id filter is forced to its own.
    "RunReport": MethodRule(_R, _OWN),
    # An advertiser token's export holds its own data only, and it sees only the exports it made.
    "CreateReportExport": MethodRule(_R, _OWN),
    "GetReportExport": MethodRule(_R, _OWN),
    "DownloadReportExport": MethodRule(_R, _OWN),
    # Expected traffic of the stores, as shared as the stores themselves.
    "ForecastAvailability": MethodRule(_R, _SHARED),
    # Of its own campaign or line item (references below).
    "GetDeliveryStatus": MethodRule(_R, _OWN),
    "ListEdges": MethodRule(_R),
    "ListDeadLetters": MethodRule(_R),
    # Per cart: the operator's, like the carts themselves.
    "CountCartEvents": MethodRule(_R),
    "UploadAsset": MethodRule(_W, _SHARED),
    "CreateApiToken": MethodRule(Kind.SECRET),
    "ListApiTokens": MethodRule(Kind.SECRET),
    # Operators' (admin and viewer) business; an advertiser learns nothing of others' changes.
    "ListAuditEntries": MethodRule(_R),
    "RevokeApiToken": MethodRule(Kind.SECRET),
    # Carts and edges belong to the operator: an advertiser may not even learn which exist.
    "CreateCart": MethodRule(_W),
    "GetCart": MethodRule(_R),
    "ListCarts": MethodRule(_R),
    "UpdateCart": MethodRule(_W),
    "RevokeCart": MethodRule(_W),
    "RevokeEdgeSigningKey": MethodRule(_W),
    "ClearEdgeFlag": MethodRule(_W),
}

_READ_PREFIXES = ("Get", "List", "BatchGet", "Search")


def rule_for(method: str) -> MethodRule:
    """The method's rule; a method missing from the table is a read if its name says so, never an advertiser's."""
    rule = METHOD_RULES.get(method)
    if rule is not None:
        return rule
    return MethodRule(_R if method.startswith(_READ_PREFIXES) else _W)


def authorize_admin_call(principal: Principal | None, method: str) -> Decision:
    """Whether ``principal`` may call AdminService ``method`` at all (advertisers: subject to check_owners)."""
    if principal is None:
        return _unauthenticated("AdminService needs 'authorization: Bearer <token>'")
    rule = rule_for(method)
    role = principal.role
    if role is Role.ADMIN:
        return ALLOW
    if role is Role.EDGE:
        return _deny("an edge token may not call AdminService")
    if rule.kind is Kind.SECRET:
        return _deny(f"{method} needs an admin token")
    if role is Role.VIEWER:
        return ALLOW if rule.kind is Kind.READ else _deny(f"a viewer token may not call {method}")
    if rule.advertiser is AdvertiserAccess.DENIED:
        return _deny(f"an advertiser token may not call {method}")
    return ALLOW


class RefKind(Enum):
    ADVERTISER = "advertiser"
    CAMPAIGN = "campaign"
    LINE_ITEM = "line_item"
    CREATIVE = "creative"


@dataclass(frozen=True)
class Ref:
    """A resource a request names, by the request field that names it."""

    kind: RefKind
    resource_id: str
    field: str


def _get(request: object, path: str) -> str:
    value: object = request
    for part in path.split("."):
        value = getattr(value, part, "")
    return str(value)


# Per method: the request fields naming a resource whose advertiser must be the token's.
_REFERENCE_FIELDS: Mapping[str, tuple[tuple[RefKind, str], ...]] = {
    "GetAdvertiser": ((RefKind.ADVERTISER, "advertiser_id"),),
    "UpdateAdvertiser": ((RefKind.ADVERTISER, "advertiser.advertiser_id"),),
    "CreateCampaign": ((RefKind.ADVERTISER, "campaign.advertiser_id"),),
    "GetCampaign": ((RefKind.CAMPAIGN, "campaign_id"),),
    "UpdateCampaign": ((RefKind.CAMPAIGN, "campaign.campaign_id"),),
    "DeleteCampaign": ((RefKind.CAMPAIGN, "campaign_id"),),
    "PauseCampaign": ((RefKind.CAMPAIGN, "campaign_id"),),
    "ResumeCampaign": ((RefKind.CAMPAIGN, "campaign_id"),),
    "CreateLineItem": ((RefKind.CAMPAIGN, "line_item.campaign_id"),),
    "GetLineItem": ((RefKind.LINE_ITEM, "line_item_id"),),
    "UpdateLineItem": ((RefKind.LINE_ITEM, "line_item.line_item_id"),),
    "DeleteLineItem": ((RefKind.LINE_ITEM, "line_item_id"),),
    "PauseLineItem": ((RefKind.LINE_ITEM, "line_item_id"),),
    "ResumeLineItem": ((RefKind.LINE_ITEM, "line_item_id"),),
    "ListLineItems": ((RefKind.CAMPAIGN, "campaign_id"),),
    "CreateCreative": ((RefKind.ADVERTISER, "creative.advertiser_id"),),
    "GetCreative": ((RefKind.CREATIVE, "creative_id"),),
    "UpdateCreative": ((RefKind.CREATIVE, "creative.creative_id"),),
    "DeleteCreative": ((RefKind.CREATIVE, "creative_id"),),
    "GetDeliveryStatus": ((RefKind.CAMPAIGN, "campaign_id"), (RefKind.LINE_ITEM, "line_item_id")),
}

# Per list method: the request field that filters by advertiser; an advertiser token's is forced to its own.
ADVERTISER_FILTERS: Mapping[str, str] = {
    "ListCampaigns": "advertiser_id",
    "ListCreatives": "advertiser_id",
    "ListLineItems": "advertiser_id",
    "GetSpendReport": "advertiser_id",
    "RunReport": "advertiser_id",
}


def references(method: str, request: object) -> list[Ref]:
    """The resources ``request`` names that an advertiser token must own.

    An empty id names nothing (and reveals nothing): the handler then answers INVALID_ARGUMENT for a
    required id, or lists unfiltered-but-narrowed for an optional filter.
    """
    refs = (Ref(kind, _get(request, path), path) for kind, path in _REFERENCE_FIELDS.get(method, ()))
    return [ref for ref in refs if ref.resource_id]


def check_filter(principal: Principal, method: str, given: str) -> Decision:
    """An advertiser token may only filter by its own advertiser (the shell fills an empty filter with it)."""
    if principal.role is not Role.ADVERTISER or method not in ADVERTISER_FILTERS:
        return ALLOW
    if given and given != principal.advertiser_id:
        return _deny(f"{ADVERTISER_FILTERS[method]}: this token may only see advertiser {principal.advertiser_id!r}")
    return ALLOW


def check_owners(principal: Principal, owners: Sequence[tuple[Ref, str | None]]) -> Decision:
    """Each referenced resource (owner None: it does not exist) must belong to an advertiser token's advertiser."""
    if principal.role is not Role.ADVERTISER:
        return ALLOW
    for ref, owner in owners:
        if owner != principal.advertiser_id:
            # The same answer for "another advertiser's" and "no such resource" (AIP-211).
            return _deny(f"{ref.field}: this token may only use resources of advertiser {principal.advertiser_id!r}")
    return ALLOW


# ---- edge services (IndexSyncService, EventIngestService, AssetService) ----


@dataclass(frozen=True)
class EdgeCaller:
    """What a call to an edge service presents: TLS or not, the stores its certificate binds, a valid token."""

    tls: bool
    cert_stores: frozenset[str] = frozenset()
    principal: Principal | None = None


def authorize_edge_call(caller: EdgeCaller) -> Decision:
    """Before the store is known: an edge certificate, or an edge token; an operator token never."""
    if caller.cert_stores:
        return ALLOW
    if caller.principal is not None:
        if caller.principal.role is Role.EDGE:
            return ALLOW
        return _deny(f"a {caller.principal.role.value} token may not act as an edge; use an edge token")
    if caller.tls:
        return _deny("the client certificate binds no store")
    return _unauthenticated("an edge needs a store certificate (mutual TLS) or 'authorization: Bearer <edge token>'")


def authorize_edge_store(caller: EdgeCaller, store_id: str) -> Decision:
    """Whether ``caller`` may act for ``store_id`` (subscribe to its index, upload its events, fetch its assets)."""
    first = authorize_edge_call(caller)
    if not first.allowed:
        return first
    if caller.cert_stores:
        if store_id in caller.cert_stores:
            return ALLOW
        bound = ", ".join(sorted(caller.cert_stores))
        return _deny(f"the client certificate is for store {bound}, not {store_id!r}")
    assert caller.principal is not None  # authorize_edge_call allowed it
    if caller.principal.store_id == store_id:
        return ALLOW
    return _deny(f"the edge token is for store {caller.principal.store_id!r}, not {store_id!r}")


# ---- token creation ----


def validate_new_token(role: Role | None, advertiser_id: str, store_id: str) -> list[tuple[str, str]]:
    """A new token's binding: advertiser tokens name an advertiser, edge tokens a store, others neither."""
    out: list[tuple[str, str]] = []
    if role is None:
        return [("api_token.role", "must be admin, advertiser, viewer or edge")]
    if role is Role.ADVERTISER and not advertiser_id:
        out.append(("api_token.advertiser_id", "is required for an advertiser token"))
    if role is not Role.ADVERTISER and advertiser_id:
        out.append(("api_token.advertiser_id", "is only for advertiser tokens"))
    if role is Role.EDGE and not store_id:
        out.append(("api_token.store_id", "is required for an edge token"))
    if role is not Role.EDGE and store_id:
        out.append(("api_token.store_id", "is only for edge tokens"))
    return out
