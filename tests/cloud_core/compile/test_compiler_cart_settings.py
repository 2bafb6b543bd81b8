"""The compiler writes the cloud's per-cart limits and invalid traffic thresholds into every index."""

from __future__ import annotations

from cartads.cart_limits import PerCartLimits, limits_from_pb
from cartads.ivt import IvtPolicy, policy_from_pb
from cartads.v1 import admin_pb2
from cloud_core.compile.compiler import CompileInput, CompileSettings, compile_store_index
from cloud_core.config import CloudConfig
from tests.cloud_core.helpers import AISLES, DEPARTMENTS, NOW, PRODUCTS, campaign, creative, line_item

INPUT = CompileInput(
    store=admin_pb2.Store(store_id="s1", display_name="Test Market", time_zone="UTC"),
    signing_key=b"k" * 32,
    aisles=AISLES,
    departments=DEPARTMENTS,
    products=PRODUCTS,
    campaigns=[campaign()],
    line_items=[line_item()],
    creatives=[creative()],
    campaign_spend_micros={},
)


def test_configured_limits_and_policy_reach_the_index() -> None:
    """Limits and thresholds set in the compile settings are the ones the index carries."""
    limits = PerCartLimits(calls_per_s=5.0, journal_share_bps=100)
    policy = IvtPolicy(max_clicks_per_ad=2, outlier_max_ctr=0.3)
    settings = compile_store_index(INPUT, CompileSettings(cart_limits=limits, ivt_policy=policy), NOW).settings
    assert limits_from_pb(settings.cart_limits) == limits
    assert policy_from_pb(settings.ivt_policy) == policy


def test_defaults_are_written_out_in_full() -> None:
    """With nothing configured, the index names every default threshold rather than leaving 0s."""
    settings = compile_store_index(INPUT, CompileSettings(), NOW).settings
    assert settings.ivt_policy.viewability_min_ms == 1_000
    assert settings.cart_limits.event_burst == 2_000


def test_cloud_config_defaults_are_the_published_ones() -> None:
    """The cloud's defaults: shared limits and thresholds, no legacy cutoff chosen yet, 35 days of terms."""
    config = CloudConfig(db="unused.sqlite3")
    assert (config.cart_limits, config.ivt_policy) == (PerCartLimits(), IvtPolicy())
    assert config.legacy_store_key_tokens_until_us is None
    assert config.terms_retention_days == 35
