"""The invalid traffic rules as a whole: their order of precedence, their policy, and judges that never raise."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from cartads import ivt
from cartads.v1 import common_pb2, index_pb2
from cartads.v1.common_pb2 import CartEvent
from cartads.v1.tracking_pb2 import TrackingTokenPayload
from tests.cartads.ivt_cases import DECISION_MS, HONEST, Call, event, payload

IMPRESSION = common_pb2.EVENT_TYPE_IMPRESSION

# ---- precedence ----


def test_rule_order_is_the_documented_table() -> None:
    """Precedence is the README's table: token, cart, bounds, time, then the trip's rules."""
    assert ivt.rule_order() == (
        ivt.TOKEN,
        ivt.NON_PRODUCTION_CART,
        ivt.UNENROLLED_CART,
        ivt.OUT_OF_BOUNDS,
        ivt.EVENT_TIME,
        ivt.TOO_FAST,
        ivt.VISIBLE_DURATION,
        ivt.CLICK_WITHOUT_IMPRESSION,
        ivt.CLICK_CAP,
        ivt.CLICK_RATE_OUTLIER,
        ivt.CONVERSION,
    )


def test_every_rule_of_the_contract_has_a_place_in_the_order() -> None:
    """Each InvalidTrafficRule but UNSPECIFIED appears exactly once (a rule added to the proto needs a place)."""
    rules = set(common_pb2.InvalidTrafficRule.values()) - {common_pb2.INVALID_TRAFFIC_RULE_UNSPECIFIED}
    assert sorted(ivt.rule_order()) == sorted(rules)


def test_stateless_rules_all_come_before_stateful_ones() -> None:
    """So ``judge_stateless(...) or judge_stateful(...)`` records the first rule broken."""
    order = ivt.rule_order()
    assert max(order.index(r) for r in ivt.STATELESS_RULES) < min(order.index(r) for r in ivt.STATEFUL_RULES)


# An impression breaking every stateless rule at once, and how to repair each, in precedence order.
_BROKEN_CALL = HONEST.but(
    payload=payload(cart_id="cart-2"),  # TOKEN: issued to another cart
    traffic_class=common_pb2.CART_TRAFFIC_CLASS_TEST,  # NON_PRODUCTION_CART
    cart_enrolled=False,  # UNENROLLED_CART
    clock_offset_ms=400_000,  # EVENT_TIME: the cart's clock is 6 min 40 s off
    receive_ms=DECISION_MS + 10,  # TOO_FAST
)
_BROKEN_EVENT = event(IMPRESSION, occur_ms=DECISION_MS - 400_000, quantity=100, visible_duration_ms=10)


def _repaired_time(call: Call, judged: CartEvent) -> Call:
    judged.occur_time.FromMilliseconds(DECISION_MS)
    return call.but(clock_offset_ms=0)


def _repaired_speed(call: Call, judged: CartEvent) -> Call:
    return call.but(receive_ms=DECISION_MS + 3_000)


def _repaired_field(name: str, value: int) -> Callable[[Call, CartEvent], Call]:
    def repair(call: Call, judged: CartEvent) -> Call:
        setattr(judged, name, value)
        return call

    return repair


_REPAIRS: list[tuple[int, Callable[[Call, CartEvent], Call]]] = [
    (ivt.TOKEN, lambda call, _: call.but(payload=payload())),
    (ivt.NON_PRODUCTION_CART, lambda call, _: call.but(traffic_class=common_pb2.CART_TRAFFIC_CLASS_PRODUCTION)),
    (ivt.UNENROLLED_CART, lambda call, _: call.but(cart_enrolled=True)),
    (ivt.OUT_OF_BOUNDS, _repaired_field("quantity", 0)),
    (ivt.EVENT_TIME, _repaired_time),
    (ivt.TOO_FAST, _repaired_speed),
    (ivt.VISIBLE_DURATION, _repaired_field("visible_duration_ms", 1_500)),
]


def test_an_event_breaking_several_rules_is_recorded_under_the_first() -> None:
    """Breaking every stateless rule, then repairing them one by one, gives each rule in precedence order."""
    call, judged = _BROKEN_CALL, CartEvent()
    judged.CopyFrom(_BROKEN_EVENT)
    seen = []
    for _, repair in _REPAIRS:
        seen.append(call.judge(judged))
        call = repair(call, judged)
    seen.append(call.judge(judged))
    assert seen == [rule for rule, _ in _REPAIRS] + [ivt.VALID]


# ---- policy ----


def test_default_policy_is_the_documented_table() -> None:
    """The defaults are the published thresholds."""
    assert ivt.IvtPolicy() == ivt.IvtPolicy(
        viewability_min_ms=1_000,
        min_impression_after_decision_ms=1_000,
        min_click_after_decision_ms=1_000,
        max_visible_ms=14_400_000,
        visible_slack_ms=2_000,
        max_clicks_per_session=10,
        max_clicks_per_ad=3,
        max_clock_offset_ms=300_000,
        event_time_slack_ms=5_000,
        max_quantity=99,
        max_event_value_micros=10_000_000_000,
        outlier_window_s=3_600,
        outlier_min_clicks=8,
        outlier_max_ctr=0.5,
        max_conversions_per_session=20,
    )


def test_policy_has_every_field_of_the_index_message() -> None:
    """A threshold added to the index's IvtPolicy must be added to the judges' policy too."""
    assert set(ivt.IvtPolicy.__dataclass_fields__) == set(index_pb2.IvtPolicy.DESCRIPTOR.fields_by_name)


def test_an_index_without_a_policy_judges_with_the_defaults() -> None:
    """No policy, or one with every field 0, means every default."""
    assert ivt.policy_from_pb(None) == ivt.DEFAULT_POLICY
    assert ivt.policy_from_pb(index_pb2.IvtPolicy()) == ivt.DEFAULT_POLICY


def test_a_set_threshold_overrides_only_itself() -> None:
    """A field the index sets is used; the others keep their defaults."""
    policy = ivt.policy_from_pb(index_pb2.IvtPolicy(max_clicks_per_ad=5, outlier_max_ctr=0.25))
    assert (policy.max_clicks_per_ad, policy.outlier_max_ctr, policy.max_quantity) == (5, 0.25, 99)


def test_policy_written_to_the_index_reads_back_the_same_with_every_field_set() -> None:
    """The compiled policy names every threshold (so later defaults never change an old version's numbers)."""
    custom = ivt.IvtPolicy(max_quantity=50, outlier_max_ctr=0.4)
    written = ivt.policy_to_pb(custom)
    assert ivt.policy_from_pb(written) == custom
    assert {f.name for f, _ in written.ListFields()} == set(index_pb2.IvtPolicy.DESCRIPTOR.fields_by_name)


# ---- totality ----

_int32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)
_int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_text = st.text(max_size=20)


@st.composite
def _events(draw: st.DrawFn) -> CartEvent:
    built = CartEvent(
        event_id=draw(_text),
        type=draw(st.one_of(st.sampled_from(common_pb2.EventType.values()), _int32)),  # type: ignore[arg-type]
        cart_id=draw(st.sampled_from(["cart-1", "", "x"])),
        session_id=draw(st.sampled_from(["trip-1", "", "y"])),
        tracking_token=draw(st.sampled_from(["", "token", "a.b"])),
        ad_id=draw(st.sampled_from(["", "ad-1", "ad-2"])),
        quantity=draw(_int32),
        visible_duration_ms=draw(_int64),
        attribution=draw(_int32),  # type: ignore[arg-type]
        attributed_event_id=draw(_text),
        unit_price_micros=draw(_int64),
    )
    if draw(st.booleans()):
        built.occur_time.seconds = draw(st.integers(min_value=-62_135_596_800, max_value=253_402_300_799))
        built.occur_time.nanos = draw(st.integers(min_value=0, max_value=999_999_999))
    return built


_payloads = st.one_of(
    st.none(),
    st.builds(
        TrackingTokenPayload,
        ad_id=st.sampled_from(["", "ad-1"]),
        store_id=st.sampled_from(["s1", "s2"]),
        cart_id=st.sampled_from(["cart-1", ""]),
        session_id=st.sampled_from(["trip-1", ""]),
        issue_time_unix_ms=_int64,
    ),
)
_policies = st.builds(
    ivt.IvtPolicy,
    **{name: _int64 for name in ivt.IvtPolicy.__dataclass_fields__ if name != "outlier_max_ctr"},
    outlier_max_ctr=st.floats(allow_nan=True, allow_infinity=True),
)


@settings(max_examples=300)
@given(
    judged=_events(),
    token_payload=_payloads,
    token=st.sampled_from(ivt.TokenCheck),
    receive_ms=_int64,
    offset=st.one_of(st.none(), _int64),
    traffic_class=_int32,
    ttl=_int64,
    policy=st.one_of(st.just(ivt.DEFAULT_POLICY), _policies),
    enrolled=st.booleans(),
)
def test_stateless_judge_is_total(  # noqa: PLR0917 - hypothesis passes them by name
    judged: CartEvent,
    token_payload: TrackingTokenPayload | None,
    token: ivt.TokenCheck,
    receive_ms: int,
    offset: int | None,
    traffic_class: int,
    ttl: int,
    policy: ivt.IvtPolicy,
    enrolled: bool,
) -> None:
    """Any event, token and policy gets a stateless verdict, never an exception."""
    verdict = ivt.judge_stateless(
        judged,
        token_payload,
        token=token,
        store_id="s1",
        receive_ms=receive_ms,
        clock_offset_ms=offset,
        traffic_class=traffic_class,
        token_ttl_ms=ttl,
        policy=policy,
        cart_enrolled=enrolled,
    )
    assert verdict in {ivt.VALID, *ivt.STATELESS_RULES}


@settings(max_examples=300)
@given(
    judged=_events(),
    token_payload=_payloads,
    trip=st.builds(
        ivt.TripHistory,
        impressed_ad_ids=st.frozensets(st.sampled_from(["ad-1", "ad-2", ""])),
        clicks=_int64,
        clicks_by_ad=st.dictionaries(st.sampled_from(["ad-1", "ad-2", ""]), _int64),
        conversions=_int64,
        invalid_add_ids=st.frozensets(_text, max_size=3),
        complete=st.booleans(),
    ),
    window=st.builds(ivt.CartWindow, impressions=_int64, clicks=_int64),
    policy=st.one_of(st.just(ivt.DEFAULT_POLICY), _policies),
)
def test_stateful_judge_is_total(
    judged: CartEvent,
    token_payload: TrackingTokenPayload | None,
    trip: ivt.TripHistory,
    window: ivt.CartWindow,
    policy: ivt.IvtPolicy,
) -> None:
    """Any event, history and policy gets a stateful verdict, never an exception."""
    assert ivt.judge_stateful(judged, token_payload, trip, window, policy) in {ivt.VALID, *ivt.STATEFUL_RULES}
