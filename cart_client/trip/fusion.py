"""Basket fusion: the scanner, the scale and the camera agree on what is in the basket.

Pure: readings and the trip clock in, basket changes and mismatches out. The rules:

* a scan is confirmed by a weight increase matching the product's catalog weight within its
  tolerance (in either order: a shopper may put the item down before scanning it); a
  variable-measure label (meat, deli, produce) states its own weight, and the scale must confirm
  that weight rather than the catalog's nominal one;
* the camera alone never adds anything: a high-confidence sighting counts only when the scale
  agrees, and a low-confidence one is ignored as noise;
* a weight drop matching an item in the basket removes it (the most recently added match first);
* a scan the scale has not confirmed within ``confirm_window_ms``, a weight increase nothing
  explains and a weight drop matching nothing in the basket are mismatches, shown on the screen
  until something resolves them (the item is scanned, taken back out, or its scan confirmed late).

Only confirmed additions become add-to-cart events: that is what attribution and billing trust.
A product the catalog does not list has no known weight; its scan is confirmed by the next weight
increase and the cart remembers the weight it measured, so taking the item out still works.
"""

from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass, field

from cart_client.trip.catalog import CartCatalog, tolerance_for


@dataclass(frozen=True, slots=True)
class FusionConfig:
    """How patient and how strict fusion is."""

    confirm_window_ms: int = 15_000
    vision_min_confidence: float = 0.85
    # Smaller changes are the scale settling or the cart bumping, not an item.
    noise_floor_g: float = 5.0


class MismatchKind(enum.StrEnum):
    """What the sensors disagree about."""

    UNCONFIRMED_SCAN = "unconfirmed_scan"
    UNEXPLAINED_ADD = "unexplained_add"
    UNEXPLAINED_REMOVAL = "unexplained_removal"


class Source(enum.StrEnum):
    """Which sensor, with the scale, vouched for a basket change."""

    SCAN = "scan"
    VISION = "vision"
    SCALE = "scale"


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A disagreement the screen shows until it is resolved."""

    mismatch_id: int
    kind: MismatchKind
    at_ms: int
    product_id: str = ""
    delta_g: float = 0.0


@dataclass(frozen=True, slots=True)
class BasketChange:
    """One unit of a product confirmed into (+1) or out of (-1) the basket."""

    product_id: str
    quantity: int
    source: Source
    weight_g: float


@dataclass(frozen=True, slots=True)
class FusionResult:
    """What one reading changed."""

    changes: tuple[BasketChange, ...] = ()
    opened: tuple[Mismatch, ...] = ()
    closed: tuple[Mismatch, ...] = ()


@dataclass(slots=True)
class _PendingScan:
    product_id: str
    at_ms: int
    mismatch: Mismatch | None = None
    # What the item's label says it weighs (variable-measure items), else the catalog decides.
    label_weight_g: float | None = None


@dataclass(slots=True)
class _Sighting:
    product_id: str
    at_ms: int


@dataclass(slots=True)
class _Out:
    changes: list[BasketChange] = field(default_factory=list)
    opened: list[Mismatch] = field(default_factory=list)
    closed: list[Mismatch] = field(default_factory=list)

    def result(self) -> FusionResult:
        return FusionResult(tuple(self.changes), tuple(self.opened), tuple(self.closed))


class BasketFusion:
    """The basket as the sensors agree on it, and the open mismatches."""

    def __init__(self, catalog: CartCatalog, config: FusionConfig | None = None) -> None:
        self._catalog = catalog
        self._config = config or FusionConfig()
        self._ids = itertools.count(1)
        # Every unit in the basket in the order it was added, with the weight the scale measured.
        self._units: list[tuple[str, float]] = []
        self._scans: list[_PendingScan] = []
        self._sightings: list[_Sighting] = []
        # Weight increases nothing explained yet, matched against later scans and sightings.
        self._unexplained: list[Mismatch] = []
        self._mismatches: dict[int, Mismatch] = {}
        self.ignored_sightings = 0

    # --- what the screen and the ad requests read -------------------------------------------

    def basket(self) -> tuple[tuple[str, int], ...]:
        """(product id, quantity) in the order products first entered the basket."""
        quantities: dict[str, int] = {}
        for product_id, _ in self._units:
            quantities[product_id] = quantities.get(product_id, 0) + 1
        return tuple(quantities.items())

    def mismatches(self) -> tuple[Mismatch, ...]:
        """The open mismatches, oldest first."""
        return tuple(self._mismatches.values())

    def next_deadline_ms(self) -> int | None:
        """When ``expire`` next has something to do, or None."""
        window = self._config.confirm_window_ms
        times = [s.at_ms + window for s in self._scans if s.mismatch is None]
        times += [s.at_ms + window for s in self._sightings]
        return min(times) if times else None

    # --- readings -----------------------------------------------------------------------------

    def scan(self, product_id: str, now_ms: int, label_weight_g: float | None = None) -> FusionResult:
        """The scanner read ``product_id``; ``label_weight_g`` is the weight its label states, if any."""
        out = _Out()
        self._expire_into(now_ms, out)
        pending = _PendingScan(product_id, now_ms, label_weight_g=label_weight_g)
        placed = next((m for m in self._unexplained if self._fits_scan(pending, m.delta_g)), None)
        if placed is not None:
            self._unexplained.remove(placed)
            self._close(placed, out)
            self._add(product_id, placed.delta_g, Source.SCAN, out)
        else:
            self._scans.append(pending)
        return out.result()

    def vision(self, product_id: str, confidence: float, now_ms: int) -> FusionResult:
        """The camera saw ``product_id`` enter the basket with ``confidence``."""
        out = _Out()
        self._expire_into(now_ms, out)
        recently_added = any(p == product_id for p, _ in self._units[-3:])
        pending_scan = any(s.product_id == product_id for s in self._scans)
        if confidence < self._config.vision_min_confidence or pending_scan or recently_added:
            # A guess, or the camera seeing an item the scanner already accounts for.
            self.ignored_sightings += 1
            return out.result()
        placed = next((m for m in self._unexplained if self._fits_known(product_id, m.delta_g)), None)
        if placed is not None:
            self._unexplained.remove(placed)
            self._close(placed, out)
            self._add(product_id, placed.delta_g, Source.VISION, out)
        else:
            self._sightings.append(_Sighting(product_id, now_ms))
        return out.result()

    def weight(self, delta_g: float, now_ms: int) -> FusionResult:
        """The scale changed by ``delta_g`` grams."""
        out = _Out()
        self._expire_into(now_ms, out)
        if abs(delta_g) < self._config.noise_floor_g:
            return out.result()
        if delta_g > 0:
            self._weight_added(delta_g, now_ms, out)
        else:
            self._weight_removed(-delta_g, now_ms, out)
        return out.result()

    def expire(self, now_ms: int) -> FusionResult:
        """Let time pass: overdue scans become mismatches, old sightings are forgotten."""
        out = _Out()
        self._expire_into(now_ms, out)
        return out.result()

    def _expire_into(self, now_ms: int, out: _Out) -> None:
        window = self._config.confirm_window_ms
        for scan in self._scans:
            if scan.mismatch is None and now_ms >= scan.at_ms + window:
                scan.mismatch = self._open(MismatchKind.UNCONFIRMED_SCAN, scan.at_ms + window, out, scan.product_id)
        self._sightings = [s for s in self._sightings if now_ms < s.at_ms + window]

    # --- rules ----------------------------------------------------------------------------------

    def _weight_added(self, delta_g: float, now_ms: int, out: _Out) -> None:
        # Known weights first, so an unknown product's scan does not swallow another item's weight.
        ordered = sorted(self._scans, key=self._weight_unknown)
        scan = next((s for s in ordered if self._fits_scan(s, delta_g)), None)
        if scan is not None:
            self._scans.remove(scan)
            if scan.mismatch is not None:
                self._close(scan.mismatch, out)
            self._add(scan.product_id, delta_g, Source.SCAN, out)
            return
        sighting = next((s for s in self._sightings if self._fits_known(s.product_id, delta_g)), None)
        if sighting is not None:
            self._sightings.remove(sighting)
            self._add(sighting.product_id, delta_g, Source.VISION, out)
            return
        self._unexplained.append(self._open(MismatchKind.UNEXPLAINED_ADD, now_ms, out, delta_g=delta_g))

    def _weight_removed(self, drop_g: float, now_ms: int, out: _Out) -> None:
        # An unscanned item taken back out resolves its own warning rather than removing a paid one.
        for placed in self._unexplained:
            if abs(placed.delta_g - drop_g) <= tolerance_for(placed.delta_g, ""):
                self._unexplained.remove(placed)
                self._close(placed, out)
                return
        for index in range(len(self._units) - 1, -1, -1):
            product_id, measured_g = self._units[index]
            if abs(measured_g - drop_g) <= self._tolerance(product_id, measured_g):
                del self._units[index]
                out.changes.append(BasketChange(product_id, -1, Source.SCALE, -drop_g))
                return
        self._open(MismatchKind.UNEXPLAINED_REMOVAL, now_ms, out, delta_g=-drop_g)

    def _add(self, product_id: str, delta_g: float, source: Source, out: _Out) -> None:
        self._units.append((product_id, delta_g))
        self._sightings = [s for s in self._sightings if s.product_id != product_id]
        out.changes.append(BasketChange(product_id, 1, source, delta_g))

    def _open(self, kind: MismatchKind, at_ms: int, out: _Out, product_id: str = "", delta_g: float = 0.0) -> Mismatch:
        mismatch = Mismatch(next(self._ids), kind, at_ms, product_id, delta_g)
        self._mismatches[mismatch.mismatch_id] = mismatch
        out.opened.append(mismatch)
        return mismatch

    def _close(self, mismatch: Mismatch, out: _Out) -> None:
        if self._mismatches.pop(mismatch.mismatch_id, None) is not None:
            out.closed.append(mismatch)

    # --- weights ----------------------------------------------------------------------------------

    def _catalog_weight(self, product_id: str) -> float | None:
        item = self._catalog.get(product_id)
        return item.weight_g if item is not None and item.weight_g > 0 else None

    def _tolerance(self, product_id: str, weight_g: float) -> float:
        item = self._catalog.get(product_id)
        if item is not None and item.weight_g > 0:
            return item.tolerance_g
        return tolerance_for(weight_g, "")

    def _fits_known(self, product_id: str, delta_g: float) -> bool:
        expected = self._catalog_weight(product_id)
        return expected is not None and abs(delta_g - expected) <= self._tolerance(product_id, expected)

    def _weight_unknown(self, scan: _PendingScan) -> bool:
        return scan.label_weight_g is None and self._catalog_weight(scan.product_id) is None

    def _fits_scan(self, scan: _PendingScan, delta_g: float) -> bool:
        if scan.label_weight_g is not None:
            item = self._catalog.get(scan.product_id)
            tolerance = tolerance_for(scan.label_weight_g, item.department if item else "")
            return abs(delta_g - scan.label_weight_g) <= tolerance
        if self._catalog_weight(scan.product_id) is None:
            return delta_g > 0
        return self._fits_known(scan.product_id, delta_g)


__all__ = [
    "BasketChange",
    "BasketFusion",
    "FusionConfig",
    "FusionResult",
    "Mismatch",
    "MismatchKind",
    "Source",
]
