"""prepare_shared, remembering what it prepared: a line item whose rows did not change is not prepared
again, and comes back as the same ServableItem object, so what changed between two preparations is
told by identity (``shared_changes``). Pure.

Preparing 5,000 line items from scratch costs more than compiling one store; after a one-line-item
edit only that line item is prepared again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from operator import attrgetter

from cartads.v1 import admin_pb2
from cloud_core.compile.memo import PartMemo
from cloud_core.compile.templates import (
    ServableItem,
    SharedCompile,
    SharedKeys,
    approved_creatives,
    campaign_store_targets,
    creative_template,
    pacing_kinds,
    servable_item,
)
from cloud_core.delivery.pacing import pacing_groups

# A line item's content key: its row, its campaign's row and its approved creatives' specs, as bytes.
ItemKey = tuple[bytes, bytes, tuple[bytes, ...]]

_by_line_item_id = attrgetter("line_item_id")


@dataclass(frozen=True)
class SharedChanges:
    """What differs between two preparations."""

    # Servable line items added, removed or changed (by id).
    line_item_ids: frozenset[str]
    # Approved creatives added, removed or changed (by id).
    creative_ids: frozenset[str]


NO_CHANGES = SharedChanges(frozenset(), frozenset())


def _serialize(message: admin_pb2.Campaign | admin_pb2.CreativeSpec | admin_pb2.LineItem) -> bytes:
    return message.SerializeToString(deterministic=True)


class SharedInterner:
    """``prepare_shared`` with a memory of the ServableItems it made, bounded by count."""

    def __init__(self, *, max_items: int, max_template_bytes: int) -> None:
        self._max_items = max(1, max_items)
        self._items: OrderedDict[ItemKey, ServableItem] = OrderedDict()
        self._creative_templates: PartMemo[bytes] = PartMemo(max_entries=max_items, max_bytes=max_template_bytes)
        # The last pair compared: every store of a batch asks about the same pair.
        self._last_pair: tuple[SharedCompile, SharedCompile, SharedChanges] | None = None

    def prepare(
        self,
        line_items: Sequence[admin_pb2.LineItem],
        campaigns: Sequence[admin_pb2.Campaign],
        creatives: Sequence[admin_pb2.CreativeSpec],
    ) -> SharedCompile:
        """What prepare_shared returns for these rows, with its SharedKeys."""
        by_campaign = {c.campaign_id: c for c in campaigns}
        campaign_bytes = {cid: _serialize(c) for cid, c in by_campaign.items()}
        # By object: the rows are the cloud's (unique ids), but a caller's list may repeat an id.
        spec_bytes = {id(c): _serialize(c) for c in creatives}
        approved = approved_creatives(creatives)
        creative_bytes = {cid: spec_bytes[id(c)] for cid, c in approved.items()}
        servable: list[ServableItem] = []
        by_id: dict[str, ServableItem] = {}
        by_campaign_ids: dict[str, list[str]] = {}
        for item in sorted(line_items, key=_by_line_item_id):
            campaign = by_campaign.get(item.campaign_id)
            specs = tuple(approved[cid] for cid in item.creative_ids if cid in approved)
            if campaign is None or not specs:
                continue
            key: ItemKey = (
                _serialize(item),
                campaign_bytes[item.campaign_id],
                tuple(spec_bytes[id(s)] for s in specs),
            )
            entry = self._items.get(key)
            if entry is None:
                entry = self._items[key] = servable_item(item, campaign, specs)
                if len(self._items) > self._max_items:
                    self._items.popitem(last=False)
            else:
                self._items.move_to_end(key)
            servable.append(entry)
            by_id[entry.line_item_id] = entry
            by_campaign_ids.setdefault(item.campaign_id, []).append(entry.line_item_id)
        templates: dict[str, bytes] = {}
        for c in creatives:
            templates[c.creative_id] = self._creative_templates.get(spec_bytes[id(c)], partial(creative_template, c))
        return SharedCompile(
            line_items=line_items,
            campaigns=campaigns,
            creatives=creatives,
            servable=tuple(servable),
            targets=campaign_store_targets(line_items),
            kinds=pacing_kinds(line_items),
            pacing_groups=pacing_groups(line_items, by_campaign),
            creative_templates=templates,
            keys=SharedKeys(
                servable_by_id=by_id,
                servable_by_campaign={cid: tuple(ids) for cid, ids in by_campaign_ids.items()},
                campaign_bytes=campaign_bytes,
                approved=approved,
                creative_bytes=creative_bytes,
            ),
        )

    def changes(self, old: SharedCompile, new: SharedCompile) -> SharedChanges:
        """What differs between two preparations made by this interner."""
        if old is new:
            return NO_CHANGES
        last = self._last_pair
        if last is not None and last[0] is old and last[1] is new:
            return last[2]
        found = shared_changes(old, new)
        self._last_pair = (old, new, found)
        return found


def shared_changes(old: SharedCompile, new: SharedCompile) -> SharedChanges:
    """The servable line items and creatives that differ between ``old`` and ``new`` (both with keys)."""
    assert old.keys is not None
    assert new.keys is not None
    a, b = old.keys.servable_by_id, new.keys.servable_by_id
    items = frozenset(lid for lid in a.keys() | b.keys() if a.get(lid) is not b.get(lid))
    ca, cb = old.keys.creative_bytes, new.keys.creative_bytes
    creatives = frozenset(cid for cid in ca.keys() | cb.keys() if ca.get(cid) != cb.get(cid))
    return SharedChanges(items, creatives)
