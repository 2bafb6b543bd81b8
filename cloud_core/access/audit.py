"""The audit trail's rules (pure): which AdminService methods change what, the fields an audit entry
records (before and after, never a secret), and the checks of a ListAuditEntries request.

The servicer (``admin.service``) reads the resource before a change and the change's answer after it,
and hands both to ``field_changes``; ``cartads-cloud create-token`` records the tokens it issues the
same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from google.protobuf import json_format
from google.protobuf.message import Message

from cartads.bounds import clip

Violation = tuple[str, str]
# (field, before, after): each value JSON text, "" where the resource had no such value.
FieldChange = tuple[str, str, str]

# Never written to the trail, whatever the message: a token's secret or its hash, a cart's credential.
SECRET_FIELDS = frozenset({"secret", "secret_sha256", "credential", "credential_secret", "key_bytes", "key"})
# Stored as raw bytes elsewhere; the trail names an asset by hash, never holds its content.
BULKY_FIELDS = frozenset({"data"})
MAX_VALUE_CHARS = 2000


@dataclass(frozen=True)
class Audited:
    """How a change method is recorded: the resource type, the request field naming it (dotted; "" when
    only the answer names it), and the answer's field holding the resource after the change."""

    resource_type: str
    request_id: str = ""
    response_resource: str = ""
    # The answer's field holding the resource's id (dotted), for a resource the request does not name.
    response_id: str = ""
    # Recorded by the part itself, in the change's own transaction (tokens), not by the servicer after it.
    in_change_transaction: bool = False


_A = Audited
AUDITED: Mapping[str, Audited] = {
    "CreateAdvertiser": _A("advertiser", "", "advertiser", "advertiser.advertiser_id"),
    "UpdateAdvertiser": _A("advertiser", "advertiser.advertiser_id", "advertiser"),
    "DeleteAdvertiser": _A("advertiser", "advertiser_id"),
    "CreateCampaign": _A("campaign", "", "campaign", "campaign.campaign_id"),
    "UpdateCampaign": _A("campaign", "campaign.campaign_id", "campaign"),
    "DeleteCampaign": _A("campaign", "campaign_id"),
    "PauseCampaign": _A("campaign", "campaign_id", "campaign"),
    "ResumeCampaign": _A("campaign", "campaign_id", "campaign"),
    "CreateLineItem": _A("line_item", "", "line_item", "line_item.line_item_id"),
    "UpdateLineItem": _A("line_item", "line_item.line_item_id", "line_item"),
    "DeleteLineItem": _A("line_item", "line_item_id"),
    "PauseLineItem": _A("line_item", "line_item_id", "line_item"),
    "ResumeLineItem": _A("line_item", "line_item_id", "line_item"),
    "CreateCreative": _A("creative", "", "creative", "creative.creative_id"),
    "UpdateCreative": _A("creative", "creative.creative_id", "creative"),
    "DeleteCreative": _A("creative", "creative_id"),
    "ApproveCreative": _A("creative", "creative_id", "creative"),
    "RejectCreative": _A("creative", "creative_id", "creative"),
    "UploadAsset": _A("asset", "", "asset", "asset.sha256"),
    "CreateStore": _A("store", "", "store", "store.store_id"),
    "UpdateStore": _A("store", "store.store_id", "store"),
    "DeleteStore": _A("store", "store_id"),
    # A catalog import records the counts it imported, not ten thousand products.
    "ImportCatalog": _A("catalog", "store_id", ""),
    "CreateExperimentLayer": _A("experiment_layer", "", "experiment_layer", "experiment_layer.layer_id"),
    "UpdateExperimentLayer": _A("experiment_layer", "experiment_layer.layer_id", "experiment_layer"),
    "DeleteExperimentLayer": _A("experiment_layer", "layer_id"),
    "CreateApiToken": _A("api_token", "", "api_token", "api_token.token_id", in_change_transaction=True),
    "RevokeApiToken": _A("api_token", "token_id", "api_token", in_change_transaction=True),
    "CreateCart": _A("cart", "", "cart", "cart.cart_id"),
    "UpdateCart": _A("cart", "cart.cart_id", "cart"),
    "RevokeCart": _A("cart", "cart_id", "cart"),
    "RevokeEdgeSigningKey": _A("edge_signing_key", "key_id", "key"),
    "ClearEdgeFlag": _A("edge", "edge_id", "edge"),
}
RESOURCE_TYPES = frozenset(a.resource_type for a in AUDITED.values())


def field_at(message: Message | None, path: str) -> str:
    """The string at the dotted ``path`` of ``message`` ("" when absent)."""
    value: object = message
    for name in path.split(".") if path else ():
        if not isinstance(value, Message) or name not in value.DESCRIPTOR.fields_by_name:
            return ""
        value = getattr(value, name)
    return value if isinstance(value, str) else ""


def _fields(message: Message | None) -> dict[str, str]:
    if message is None:
        return {}
    as_dict = json_format.MessageToDict(message, preserving_proto_field_name=True)
    return {
        name: clip(json.dumps(value, sort_keys=True), MAX_VALUE_CHARS)
        for name, value in as_dict.items()
        if name not in SECRET_FIELDS and name not in BULKY_FIELDS
    }


def field_changes(before: Message | None, after: Message | None) -> list[FieldChange]:
    """The top-level fields that differ between ``before`` and ``after`` (None: no resource), sorted;
    secrets are left out whatever their value."""
    old, new = _fields(before), _fields(after)
    return [
        (name, old.get(name, ""), new.get(name, "")) for name in sorted(old | new) if old.get(name) != new.get(name)
    ]


@dataclass(frozen=True)
class AuditFilter:
    """A ListAuditEntries query: each non-empty field must match."""

    resource_type: str = ""
    resource_id: str = ""
    actor_token_id: str = ""
    since_us: int = 0


def check_audit_filter(f: AuditFilter) -> list[Violation]:
    """The resource type must be one the trail records; ids are bounded like every id."""
    out: list[Violation] = []
    if f.resource_type and f.resource_type not in RESOURCE_TYPES:
        known = ", ".join(sorted(RESOURCE_TYPES))
        out.append(("resource_type", f"{clip(f.resource_type)!r} is not a resource type; one of: {known}"))
    for name, value in (("resource_id", f.resource_id), ("actor_token_id", f.actor_token_id)):
        if len(value) > 256:
            out.append((name, "must be at most 256 characters"))
    if f.since_us < 0:
        out.append(("since_time", "must not be before 1970"))
    return out
