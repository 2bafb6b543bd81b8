"""Basket fusion rules, table-driven: scanner, scale and camera readings in, basket and mismatches out."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from cart_client.trip.catalog import CartCatalog, CatalogItem, tolerance_for
from cart_client.trip.fusion import BasketFusion, FusionConfig, FusionResult, MismatchKind, Source
from cart_client.trip.scale import StableScale, StableScaleConfig

CATALOG = CartCatalog(
    [
        CatalogItem("banana", "Banana", weight_g=120.0, tolerance_g=24.0, department="produce"),
        CatalogItem("milk", "Milk", weight_g=1050.0, tolerance_g=105.0, department="dairy eggs"),
        CatalogItem("soda", "Soda", weight_g=360.0, tolerance_g=36.0, department="beverages"),
        CatalogItem("soda-big", "Big soda", weight_g=400.0, tolerance_g=40.0, department="beverages"),
    ]
)


@dataclass(frozen=True)
class Case:
    name: str
    readings: list[
        tuple[str, object, int]
    ]  # ("scan", product) | ("label", (product, grams)) | ("weight", grams) | ("vision", (product, conf))
    # | ("tick", None) | ("gross", [raw grams, 50 ms apart]) | ("motion", [raw grams]) | ("tare", None)
    basket: dict[str, int]
    open_mismatches: list[MismatchKind]
    sources: list[Source]


CASES = [
    Case(
        "scan then matching weight", [("scan", "banana", 0), ("weight", 118.0, 1_000)], {"banana": 1}, [], [Source.SCAN]
    ),
    Case(
        "weight then scan (placed first)",
        [("weight", 1_040.0, 0), ("scan", "milk", 2_000)],
        {"milk": 1},
        [],
        [Source.SCAN],
    ),
    Case(
        "weight at the edge of tolerance",
        [("scan", "banana", 0), ("weight", 144.0, 500)],
        {"banana": 1},
        [],
        [Source.SCAN],
    ),
    Case(
        "weight outside tolerance",
        [("scan", "banana", 0), ("weight", 145.0, 500)],
        {},
        [MismatchKind.UNEXPLAINED_ADD],
        [],
    ),
    Case(
        "scan never confirmed",
        [("scan", "milk", 0), ("tick", None, 15_000)],
        {},
        [MismatchKind.UNCONFIRMED_SCAN],
        [],
    ),
    Case(
        "late weight resolves an unconfirmed scan",
        [("scan", "milk", 0), ("tick", None, 15_000), ("weight", 1_060.0, 16_000)],
        {"milk": 1},
        [],
        [Source.SCAN],
    ),
    Case("unexplained weight", [("weight", 500.0, 0)], {}, [MismatchKind.UNEXPLAINED_ADD], []),
    Case(
        "unscanned item taken back out",
        [("weight", 500.0, 0), ("weight", -497.0, 3_000)],
        {},
        [],
        [],
    ),
    Case(
        "vision with high confidence and the scale agreeing",
        [("vision", ("soda", 0.93), 0), ("weight", 355.0, 300)],
        {"soda": 1},
        [],
        [Source.VISION],
    ),
    Case(
        "scale first, then a confident sighting",
        [("weight", 362.0, 0), ("vision", ("soda", 0.9), 200)],
        {"soda": 1},
        [],
        [Source.VISION],
    ),
    Case(
        "low-confidence vision is ignored",
        [("vision", ("soda", 0.6), 0), ("weight", 360.0, 300)],
        {},
        [MismatchKind.UNEXPLAINED_ADD],
        [],
    ),
    Case(
        "confident vision the scale contradicts",
        [("vision", ("soda", 0.95), 0), ("weight", 1_000.0, 300)],
        {},
        [MismatchKind.UNEXPLAINED_ADD],
        [],
    ),
    Case("vision alone adds nothing", [("vision", ("soda", 0.99), 0), ("tick", None, 60_000)], {}, [], []),
    Case(
        "sighting of the item just scanned is not a second unit",
        [("scan", "soda", 0), ("weight", 360.0, 500), ("vision", ("soda", 0.97), 700), ("weight", 400.0, 5_000)],
        {"soda": 1},
        [MismatchKind.UNEXPLAINED_ADD],
        [Source.SCAN],
    ),
    Case(
        "removal by weight",
        [("scan", "milk", 0), ("weight", 1_050.0, 500), ("weight", -1_045.0, 9_000)],
        {},
        [],
        [Source.SCAN, Source.SCALE],
    ),
    Case(
        "removal takes the matching item, not the last one",
        [
            ("scan", "milk", 0),
            ("weight", 1_050.0, 500),
            ("scan", "banana", 3_000),
            ("weight", 121.0, 3_500),
            ("weight", -1_040.0, 9_000),
        ],
        {"banana": 1},
        [],
        [Source.SCAN, Source.SCAN, Source.SCALE],
    ),
    Case(
        "unexplained drop",
        [("scan", "banana", 0), ("weight", 120.0, 500), ("weight", -700.0, 9_000)],
        {"banana": 1},
        [MismatchKind.UNEXPLAINED_REMOVAL],
        [Source.SCAN],
    ),
    Case(
        "two scans, weights in the other order",
        [("scan", "banana", 0), ("scan", "milk", 1_000), ("weight", 1_049.0, 2_000), ("weight", 119.0, 2_500)],
        {"banana": 1, "milk": 1},
        [],
        [Source.SCAN, Source.SCAN],
    ),
    Case(
        "two units of one product",
        [("scan", "soda", 0), ("weight", 360.0, 500), ("scan", "soda", 3_000), ("weight", 358.0, 3_500)],
        {"soda": 2},
        [],
        [Source.SCAN, Source.SCAN],
    ),
    Case("scale drift below the noise floor", [("weight", 3.0, 0), ("weight", -4.0, 100)], {}, [], []),
    Case(
        "unknown product: the next weight confirms it and is remembered",
        [("scan", "mystery", 0), ("weight", 730.0, 500), ("weight", -735.0, 9_000)],
        {},
        [],
        [Source.SCAN, Source.SCALE],
    ),
    Case(
        "a known product's weight is not taken by an unknown product's scan",
        [("scan", "mystery", 0), ("scan", "banana", 100), ("weight", 121.0, 500), ("weight", 640.0, 1_000)],
        {"banana": 1, "mystery": 1},
        [],
        [Source.SCAN, Source.SCAN],
    ),
    Case(
        "a label's weight, not the catalog's unit weight, confirms a weighed item",
        [("label", ("banana", 730.0), 0), ("weight", 722.0, 800)],
        {"banana": 1},
        [],
        [Source.SCAN],
    ),
    Case(
        "a weighed item's catalog unit weight does not confirm a label stating more",
        [("label", ("banana", 730.0), 0), ("weight", 121.0, 800)],
        {},
        [MismatchKind.UNEXPLAINED_ADD],
        [],
    ),
    Case(
        "noisy scale: only the stable change confirms the scan",
        [
            ("gross", [0.4, -0.3, 0.1, 0.6, -0.2], 0),
            ("scan", "milk", 1_000),
            ("motion", [480.0, 1_310.0, 990.0], 1_500),
            ("gross", [1_052.0, 1_049.5, 1_051.2, 1_050.4, 1_049.0, 1_050.8], 1_700),
        ],
        {"milk": 1},
        [],
        [Source.SCAN],
    ),
    Case(
        "a swinging load never settles, so the scan stays unconfirmed",
        [
            ("gross", [0.0, 0.0, 0.0, 0.0, 0.0], 0),
            ("scan", "milk", 1_000),
            ("gross", [400.0, 1_300.0, 900.0, 1_100.0, 1_000.0, 1_080.0, 1_020.0], 1_500),
            ("tick", None, 16_000),
        ],
        {},
        [MismatchKind.UNCONFIRMED_SCAN],
        [],
    ),
    Case(
        "items flagged in motion by the device are not weighed",
        [("gross", [0.0] * 5, 0), ("scan", "soda", 500), ("motion", [360.0] * 8, 900), ("tick", None, 15_500)],
        {},
        [MismatchKind.UNCONFIRMED_SCAN],
        [],
    ),
    Case(
        "tare: the shopper's own bag is not an item, the next item is",
        [
            ("gross", [0.0] * 5, 0),
            ("tare", None, 1_000),
            ("gross", [310.0, 309.0, 310.5, 309.8, 310.2], 1_200),
            ("scan", "soda", 3_000),
            ("gross", [670.0, 669.5, 670.4, 670.1, 669.8], 3_500),
        ],
        {"soda": 1},
        [],
        [Source.SCAN],
    ),
    Case(
        "slow drift of the load cell never becomes an item",
        [("gross", [step * 1.5] * 5, step * 10_000) for step in range(13)],
        {},
        [],
        [],
    ),
    Case(
        "a stable drop takes the item back out",
        [
            ("gross", [0.0] * 5, 0),
            ("scan", "soda", 500),
            ("gross", [361.0, 359.0, 360.5, 360.0, 359.5], 1_000),
            ("gross", [1.0, 0.5, -0.5, 0.0, 0.2], 5_000),
        ],
        {},
        [],
        [Source.SCAN, Source.SCALE],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fusion_rule(case: Case) -> None:
    """Each reading sequence yields the expected basket, open mismatches and sources of change."""
    fusion = BasketFusion(CATALOG, FusionConfig(confirm_window_ms=15_000))
    scale = StableScale(StableScaleConfig())
    sources: list[Source] = []
    for kind, value, t_ms in case.readings:
        results: list[FusionResult] = []
        if kind == "scan":
            assert isinstance(value, str)
            results.append(fusion.scan(value, t_ms))
        elif kind == "label":
            assert isinstance(value, tuple)
            results.append(fusion.scan(value[0], t_ms, label_weight_g=value[1]))
        elif kind == "weight":
            assert isinstance(value, float)
            results.append(fusion.weight(value, t_ms))
        elif kind == "vision":
            assert isinstance(value, tuple)
            results.append(fusion.vision(value[0], value[1], t_ms))
        elif kind in ("gross", "motion"):
            assert isinstance(value, list)
            for i, grams in enumerate(value):
                delta = scale.reading(grams, t_ms + 50 * i, motion=kind == "motion")
                if delta is not None:
                    results.append(fusion.weight(delta, t_ms + 50 * i))
        elif kind == "tare":
            scale.tare()
        else:
            results.append(fusion.expire(t_ms))
        sources += [change.source for result in results for change in result.changes]
    assert dict(fusion.basket()) == case.basket
    assert [m.kind for m in fusion.mismatches()] == case.open_mismatches
    assert sources == case.sources


def test_resolved_mismatch_is_reported_closed() -> None:
    """When a late scan explains a weight, the result names the mismatch it closed."""
    fusion = BasketFusion(CATALOG)
    (opened,) = fusion.weight(1_040.0, 0).opened
    result = fusion.scan("milk", 2_000)
    assert result.closed == (opened,)
    assert fusion.mismatches() == ()


def test_deadline_is_the_oldest_unconfirmed_scan() -> None:
    """next_deadline_ms is when the oldest pending scan becomes a mismatch, and None once flagged."""
    fusion = BasketFusion(CATALOG, FusionConfig(confirm_window_ms=10_000))
    fusion.scan("milk", 1_000)
    fusion.scan("banana", 4_000)
    assert fusion.next_deadline_ms() == 11_000
    fusion.expire(20_000)
    assert fusion.next_deadline_ms() is None


def test_department_tolerances() -> None:
    """Produce gets a looser tolerance than packaged goods, and light items a floor of 15 g."""
    assert tolerance_for(1_000.0, "produce") == 200.0
    assert tolerance_for(1_000.0, "pantry") == 100.0
    assert tolerance_for(50.0, "pantry") == 15.0
