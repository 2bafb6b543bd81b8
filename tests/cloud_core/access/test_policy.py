"""The pure access policy: which role may call which method, advertiser scoping, edge credentials."""

from __future__ import annotations

import pytest

from cartads.v1 import admin_pb2
from cloud_core.access import policy as p

ADMIN = p.Principal("t-admin", p.Role.ADMIN)
VIEWER = p.Principal("t-viewer", p.Role.VIEWER)
ACME = p.Principal("t-acme", p.Role.ADVERTISER, advertiser_id="acme")
EDGE_S1 = p.Principal("t-edge", p.Role.EDGE, store_id="s1")

ALLOW, DENY, UNAUTH = p.Outcome.ALLOW, p.Outcome.PERMISSION_DENIED, p.Outcome.UNAUTHENTICATED

ADMIN_CASES = [
    # (principal, method, outcome)
    (None, "ListStores", UNAUTH),
    (ADMIN, "DeleteStore", ALLOW),
    (ADMIN, "CreateApiToken", ALLOW),
    (VIEWER, "ListCampaigns", ALLOW),
    (VIEWER, "GetSpendReport", ALLOW),
    (VIEWER, "ListEdges", ALLOW),
    (VIEWER, "UpdateCampaign", DENY),
    (VIEWER, "PauseLineItem", DENY),
    (VIEWER, "ListApiTokens", DENY),
    (ACME, "CreateCampaign", ALLOW),
    (ACME, "ListStores", ALLOW),
    (ACME, "ListProducts", ALLOW),
    (ACME, "UploadAsset", ALLOW),
    (ACME, "CreateAdvertiser", DENY),
    (ACME, "DeleteAdvertiser", DENY),
    (ACME, "CreateStore", DENY),
    (ACME, "ImportCatalog", DENY),
    (ACME, "ListEdges", DENY),
    (ACME, "ListDeadLetters", DENY),
    (ACME, "RevokeApiToken", DENY),
    (EDGE_S1, "ListStores", DENY),
    # Methods other helpers add later: reads for viewers, nothing for advertisers until listed.
    (VIEWER, "GetExperimentReport", ALLOW),
    (VIEWER, "CreateExperiment", DENY),
    (ACME, "GetExperimentReport", DENY),
    (ADMIN, "CreateExperiment", ALLOW),
]


@pytest.mark.parametrize(("principal", "method", "outcome"), ADMIN_CASES)
def test_admin_method_table(principal: p.Principal | None, method: str, outcome: p.Outcome) -> None:
    """Each role gets exactly the AdminService methods the table gives it."""
    assert p.authorize_admin_call(principal, method).outcome is outcome


def test_method_table_names_real_rpcs() -> None:
    """Every method in the table is an AdminService RPC (a typo would silently fall back to the default)."""
    methods = set(admin_pb2.DESCRIPTOR.services_by_name["AdminService"].methods_by_name)
    assert set(p.METHOD_RULES) - methods == set()


REFERENCE_CASES = [
    ("GetCampaign", admin_pb2.GetCampaignRequest(campaign_id="c1"), [(p.RefKind.CAMPAIGN, "c1")]),
    (
        "UpdateLineItem",
        admin_pb2.UpdateLineItemRequest(line_item=admin_pb2.LineItem(line_item_id="li1")),
        [(p.RefKind.LINE_ITEM, "li1")],
    ),
    (
        "CreateLineItem",
        admin_pb2.CreateLineItemRequest(line_item=admin_pb2.LineItem(campaign_id="c9")),
        [(p.RefKind.CAMPAIGN, "c9")],
    ),
    (
        "CreateCreative",
        admin_pb2.CreateCreativeRequest(creative=admin_pb2.CreativeSpec(advertiser_id="x")),
        [(p.RefKind.ADVERTISER, "x")],
    ),
    ("ListLineItems", admin_pb2.ListLineItemsRequest(), []),
    ("ListLineItems", admin_pb2.ListLineItemsRequest(campaign_id="c1"), [(p.RefKind.CAMPAIGN, "c1")]),
    ("GetCreative", admin_pb2.GetCreativeRequest(), []),
    ("ListStores", admin_pb2.ListStoresRequest(), []),
]


@pytest.mark.parametrize(("method", "request_message", "expected"), REFERENCE_CASES)
def test_references(method: str, request_message: object, expected: list[tuple[p.RefKind, str]]) -> None:
    """The resources a request names are found by the table (an empty optional filter names nothing)."""
    assert [(r.kind, r.resource_id) for r in p.references(method, request_message)] == expected


def _ref(resource_id: str = "c1") -> p.Ref:
    return p.Ref(p.RefKind.CAMPAIGN, resource_id, "campaign_id")


@pytest.mark.parametrize(
    ("principal", "owner", "outcome"),
    [
        (ACME, "acme", ALLOW),
        (ACME, "globex", DENY),
        # Missing resources answer like foreign ones, so ids cannot be probed (AIP-211).
        (ACME, None, DENY),
        (ADMIN, "globex", ALLOW),
        (VIEWER, None, ALLOW),
    ],
)
def test_check_owners(principal: p.Principal, owner: str | None, outcome: p.Outcome) -> None:
    """An advertiser token may only name its own advertiser's resources."""
    assert p.check_owners(principal, [(_ref(), owner)]).outcome is outcome


@pytest.mark.parametrize(
    ("principal", "given", "outcome"),
    [(ACME, "", ALLOW), (ACME, "acme", ALLOW), (ACME, "globex", DENY), (VIEWER, "globex", ALLOW)],
)
def test_check_filter(principal: p.Principal, given: str, outcome: p.Outcome) -> None:
    """An advertiser token's list filter may be empty (then forced) or its own, never another's."""
    assert p.check_filter(principal, "ListCampaigns", given).outcome is outcome


OPERATOR = p.Principal("t-admin", p.Role.ADMIN)
EDGE_CASES = [
    # (caller, store_id, outcome)
    (p.EdgeCaller(tls=False), "s1", UNAUTH),
    (p.EdgeCaller(tls=False, principal=EDGE_S1), "s1", ALLOW),
    (p.EdgeCaller(tls=False, principal=EDGE_S1), "s2", DENY),
    (p.EdgeCaller(tls=False, principal=OPERATOR), "s1", DENY),
    (p.EdgeCaller(tls=False, principal=VIEWER), "s1", DENY),
    (p.EdgeCaller(tls=True, cert_stores=frozenset({"s1"})), "s1", ALLOW),
    (p.EdgeCaller(tls=True, cert_stores=frozenset({"s1"})), "s2", DENY),
    (p.EdgeCaller(tls=True), "s1", DENY),
    (p.EdgeCaller(tls=True, principal=EDGE_S1), "s1", ALLOW),
]


@pytest.mark.parametrize(("caller", "store_id", "outcome"), EDGE_CASES)
def test_edge_store(caller: p.EdgeCaller, store_id: str, outcome: p.Outcome) -> None:
    """Edges act for their own store by certificate or edge token; operators and strangers never."""
    assert p.authorize_edge_store(caller, store_id).outcome is outcome


@pytest.mark.parametrize(
    ("values", "expected"),
    [([], None), (["Bearer abc"], "abc"), (["bearer  abc "], "abc"), (["Basic abc"], ""), (["Bearer"], "")],
)
def test_bearer_secret(values: list[str], expected: str | None) -> None:
    """The authorization header yields the token, None when absent, "" when malformed."""
    assert p.bearer_secret(values) == expected


@pytest.mark.parametrize(
    ("role", "advertiser_id", "store_id", "fields"),
    [
        (p.Role.ADMIN, "", "", []),
        (p.Role.ADVERTISER, "", "", ["api_token.advertiser_id"]),
        (p.Role.ADVERTISER, "acme", "", []),
        (p.Role.EDGE, "", "", ["api_token.store_id"]),
        (p.Role.VIEWER, "acme", "s1", ["api_token.advertiser_id", "api_token.store_id"]),
        (None, "", "", ["api_token.role"]),
    ],
)
def test_validate_new_token(role: p.Role | None, advertiser_id: str, store_id: str, fields: list[str]) -> None:
    """Advertiser tokens name an advertiser, edge tokens a store, the others neither."""
    assert [f for f, _ in p.validate_new_token(role, advertiser_id, store_id)] == fields
