"""Pure validation rules of the admin API."""

from __future__ import annotations

from cartads.v1 import admin_pb2, common_pb2
from cloud_core.admin import validation as v
from tests.cloud_core.helpers import LINE_ITEM_CONTEXT, NOW, campaign, creative, line_item, violated_fields


def test_valid_campaign_has_no_violations() -> None:
    """A complete campaign passes."""
    assert v.validate_campaign(campaign()) == []


def test_campaign_budget_must_be_positive() -> None:
    """A zero budget is named as campaign.budget_micros."""
    assert violated_fields(v.validate_campaign(campaign(budget_micros=0))) == {"campaign.budget_micros"}


def test_campaign_end_must_follow_start() -> None:
    """A flight that ends before it starts is named as campaign.end_time."""
    assert "campaign.end_time" in violated_fields(v.validate_campaign(campaign(start=NOW, end=NOW)))


def test_campaign_needs_name_and_times() -> None:
    """Missing display name and flight times are each reported."""
    found = violated_fields(v.validate_campaign(admin_pb2.Campaign(advertiser_id="acme", budget_micros=1)))
    assert {"campaign.display_name", "campaign.start_time", "campaign.end_time"} <= found


def test_valid_line_item_has_no_violations() -> None:
    """A line item whose references all resolve passes."""
    item = line_item(targeting=admin_pb2.Targeting(product_ids=["24852"], aisle_ids=["24"], store_ids=["s1"]))
    assert v.validate_line_item(item, LINE_ITEM_CONTEXT) == []


def test_line_item_bid_and_pricing_required() -> None:
    """bid_micros must be positive and pricing_model specified."""
    item = line_item(bid_micros=0, pricing_model=common_pb2.PRICING_MODEL_UNSPECIFIED)
    assert violated_fields(v.validate_line_item(item, LINE_ITEM_CONTEXT)) == {
        "line_item.bid_micros",
        "line_item.pricing_model",
    }


def test_line_item_creative_must_exist() -> None:
    """An unknown creative id is named with its index."""
    assert violated_fields(v.validate_line_item(line_item(creative_ids=("nope",)), LINE_ITEM_CONTEXT)) == {
        "line_item.creative_ids[0]"
    }


def test_line_item_creative_must_belong_to_campaign_advertiser() -> None:
    """Another advertiser's creative is refused."""
    found = v.validate_line_item(line_item(creative_ids=("cr1", "other")), LINE_ITEM_CONTEXT)
    assert found == [("line_item.creative_ids[1]", "is not a creative of this campaign's advertiser")]


def test_line_item_targeting_must_exist_in_catalog() -> None:
    """Unknown product, aisle, department, zone and store ids are each named."""
    targeting = admin_pb2.Targeting(
        product_ids=["x"], aisle_ids=["x"], department_ids=["x"], zone_ids=["x"], store_ids=["x"]
    )
    assert violated_fields(v.validate_line_item(line_item(targeting=targeting), LINE_ITEM_CONTEXT)) == {
        "line_item.targeting.product_ids[0]",
        "line_item.targeting.aisle_ids[0]",
        "line_item.targeting.department_ids[0]",
        "line_item.targeting.zone_ids[0]",
        "line_item.targeting.store_ids[0]",
    }


def test_line_item_trigger_must_be_specified() -> None:
    """TRIGGER_UNSPECIFIED is not a trigger to target."""
    targeting = admin_pb2.Targeting(triggers=[common_pb2.TRIGGER_SCAN, common_pb2.TRIGGER_UNSPECIFIED])
    assert violated_fields(v.validate_line_item(line_item(targeting=targeting), LINE_ITEM_CONTEXT)) == {
        "line_item.targeting.triggers[1]"
    }


def test_sponsored_product_creative_needs_product() -> None:
    """A sponsored product creative must name its product."""
    assert violated_fields(v.validate_creative(creative(product_id=""))) == {"creative.promoted_product_id"}


def test_store_time_zone_must_be_known() -> None:
    """An unknown IANA zone is named as store.time_zone."""
    store = admin_pb2.Store(display_name="x", time_zone="Mars/Olympus")
    assert violated_fields(v.validate_store(store)) == {"store.time_zone"}


def test_page_size_range() -> None:
    """page_size 0..1000 is accepted, anything else named."""
    assert v.check_page_size(0) == []
    assert v.check_page_size(1000) == []
    assert violated_fields(v.check_page_size(1001) + v.check_page_size(-1)) == {"page_size"}


def test_update_mask_rejects_unsettable_paths() -> None:
    """Paths that are not settable fields are refused."""
    assert violated_fields(v.check_update_mask(["display_name", "campaign_id"], "campaign")) == {"update_mask"}
    assert v.check_update_mask(["targeting.product_ids", "state"], "line_item") == []


def test_catalog_products_need_known_aisle() -> None:
    """A product in an aisle that is not in the catalog is named."""
    product = admin_pb2.Product(product_id="1", display_name="x", aisle_id="9", department_id="4")
    assert violated_fields(v.validate_catalog([], [], [product], {"24"}, {"4"})) == {"products[0].aisle_id"}


def test_client_ids_are_checked() -> None:
    """Ids with spaces or slashes are refused."""
    assert v.check_id("ok-id_1.2", "x") == []
    assert violated_fields(v.check_id("bad id", "x") + v.check_id("a/b", "y")) == {"x", "y"}


def test_campaign_times_must_be_in_range() -> None:
    """A flight time before 1970 or after 9999 names its field."""
    bad = campaign()
    bad.end_time.seconds = 10**12
    assert violated_fields(v.validate_campaign(bad)) == {"campaign.end_time"}


def test_catalog_duplicate_ids_in_one_import_are_named() -> None:
    """The second occurrence of an id in one import is named by its position."""
    aisle = admin_pb2.Aisle(aisle_id="24", display_name="fruit")
    product = admin_pb2.Product(product_id="1", display_name="Banana", aisle_id="24", department_id="4")
    violations = v.validate_catalog([aisle, aisle], [], [product, product], {"24"}, {"4"})
    assert violated_fields(violations) == {"aisles[1].aisle_id", "products[1].product_id"}


def test_catalog_zone_must_be_an_id() -> None:
    """An aisle's zone, when given, is an id like the others."""
    aisle = admin_pb2.Aisle(aisle_id="24", display_name="fruit", zone_id="zone 24!")
    assert violated_fields(v.validate_catalog([aisle], [], [], {"24"}, set())) == {"aisles[0].zone_id"}
