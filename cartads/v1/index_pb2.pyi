import datetime

from cartads.v1 import common_pb2 as _common_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StoreIndex(_message.Message):
    __slots__ = ("store_id", "version", "compile_time", "settings", "line_items", "creatives", "products", "postings", "experiment_layers", "carts")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    COMPILE_TIME_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    LINE_ITEMS_FIELD_NUMBER: _ClassVar[int]
    CREATIVES_FIELD_NUMBER: _ClassVar[int]
    PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    POSTINGS_FIELD_NUMBER: _ClassVar[int]
    EXPERIMENT_LAYERS_FIELD_NUMBER: _ClassVar[int]
    CARTS_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    version: str
    compile_time: _timestamp_pb2.Timestamp
    settings: StoreSettings
    line_items: _containers.RepeatedCompositeFieldContainer[IndexLineItem]
    creatives: _containers.RepeatedCompositeFieldContainer[_common_pb2.Creative]
    products: _containers.RepeatedCompositeFieldContainer[IndexProduct]
    postings: _containers.RepeatedCompositeFieldContainer[PostingList]
    experiment_layers: _containers.RepeatedCompositeFieldContainer[IndexExperimentLayer]
    carts: _containers.RepeatedCompositeFieldContainer[IndexCart]
    def __init__(self, store_id: _Optional[str] = ..., version: _Optional[str] = ..., compile_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., settings: _Optional[_Union[StoreSettings, _Mapping]] = ..., line_items: _Optional[_Iterable[_Union[IndexLineItem, _Mapping]]] = ..., creatives: _Optional[_Iterable[_Union[_common_pb2.Creative, _Mapping]]] = ..., products: _Optional[_Iterable[_Union[IndexProduct, _Mapping]]] = ..., postings: _Optional[_Iterable[_Union[PostingList, _Mapping]]] = ..., experiment_layers: _Optional[_Iterable[_Union[IndexExperimentLayer, _Mapping]]] = ..., carts: _Optional[_Iterable[_Union[IndexCart, _Mapping]]] = ...) -> None: ...

class IndexCart(_message.Message):
    __slots__ = ("credential_id", "cart_id", "secret_sha256", "traffic_class")
    CREDENTIAL_ID_FIELD_NUMBER: _ClassVar[int]
    CART_ID_FIELD_NUMBER: _ClassVar[int]
    SECRET_SHA256_FIELD_NUMBER: _ClassVar[int]
    TRAFFIC_CLASS_FIELD_NUMBER: _ClassVar[int]
    credential_id: str
    cart_id: str
    secret_sha256: bytes
    traffic_class: _common_pb2.CartTrafficClass
    def __init__(self, credential_id: _Optional[str] = ..., cart_id: _Optional[str] = ..., secret_sha256: _Optional[bytes] = ..., traffic_class: _Optional[_Union[_common_pb2.CartTrafficClass, str]] = ...) -> None: ...

class CartLimits(_message.Message):
    __slots__ = ("calls_per_s", "call_burst", "events_per_s", "event_burst", "journal_share_bps", "sessions_per_cart")
    CALLS_PER_S_FIELD_NUMBER: _ClassVar[int]
    CALL_BURST_FIELD_NUMBER: _ClassVar[int]
    EVENTS_PER_S_FIELD_NUMBER: _ClassVar[int]
    EVENT_BURST_FIELD_NUMBER: _ClassVar[int]
    JOURNAL_SHARE_BPS_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_PER_CART_FIELD_NUMBER: _ClassVar[int]
    calls_per_s: float
    call_burst: int
    events_per_s: float
    event_burst: int
    journal_share_bps: int
    sessions_per_cart: int
    def __init__(self, calls_per_s: _Optional[float] = ..., call_burst: _Optional[int] = ..., events_per_s: _Optional[float] = ..., event_burst: _Optional[int] = ..., journal_share_bps: _Optional[int] = ..., sessions_per_cart: _Optional[int] = ...) -> None: ...

class IvtPolicy(_message.Message):
    __slots__ = ("viewability_min_ms", "min_impression_after_decision_ms", "min_click_after_decision_ms", "max_visible_ms", "visible_slack_ms", "max_clicks_per_session", "max_clicks_per_ad", "max_clock_offset_ms", "event_time_slack_ms", "max_quantity", "max_event_value_micros", "outlier_window_s", "outlier_min_clicks", "outlier_max_ctr", "max_conversions_per_session")
    VIEWABILITY_MIN_MS_FIELD_NUMBER: _ClassVar[int]
    MIN_IMPRESSION_AFTER_DECISION_MS_FIELD_NUMBER: _ClassVar[int]
    MIN_CLICK_AFTER_DECISION_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_VISIBLE_MS_FIELD_NUMBER: _ClassVar[int]
    VISIBLE_SLACK_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_CLICKS_PER_SESSION_FIELD_NUMBER: _ClassVar[int]
    MAX_CLICKS_PER_AD_FIELD_NUMBER: _ClassVar[int]
    MAX_CLOCK_OFFSET_MS_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_SLACK_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    MAX_EVENT_VALUE_MICROS_FIELD_NUMBER: _ClassVar[int]
    OUTLIER_WINDOW_S_FIELD_NUMBER: _ClassVar[int]
    OUTLIER_MIN_CLICKS_FIELD_NUMBER: _ClassVar[int]
    OUTLIER_MAX_CTR_FIELD_NUMBER: _ClassVar[int]
    MAX_CONVERSIONS_PER_SESSION_FIELD_NUMBER: _ClassVar[int]
    viewability_min_ms: int
    min_impression_after_decision_ms: int
    min_click_after_decision_ms: int
    max_visible_ms: int
    visible_slack_ms: int
    max_clicks_per_session: int
    max_clicks_per_ad: int
    max_clock_offset_ms: int
    event_time_slack_ms: int
    max_quantity: int
    max_event_value_micros: int
    outlier_window_s: int
    outlier_min_clicks: int
    outlier_max_ctr: float
    max_conversions_per_session: int
    def __init__(self, viewability_min_ms: _Optional[int] = ..., min_impression_after_decision_ms: _Optional[int] = ..., min_click_after_decision_ms: _Optional[int] = ..., max_visible_ms: _Optional[int] = ..., visible_slack_ms: _Optional[int] = ..., max_clicks_per_session: _Optional[int] = ..., max_clicks_per_ad: _Optional[int] = ..., max_clock_offset_ms: _Optional[int] = ..., event_time_slack_ms: _Optional[int] = ..., max_quantity: _Optional[int] = ..., max_event_value_micros: _Optional[int] = ..., outlier_window_s: _Optional[int] = ..., outlier_min_clicks: _Optional[int] = ..., outlier_max_ctr: _Optional[float] = ..., max_conversions_per_session: _Optional[int] = ...) -> None: ...

class IndexExperimentLayer(_message.Message):
    __slots__ = ("layer_id", "salt", "arms")
    LAYER_ID_FIELD_NUMBER: _ClassVar[int]
    SALT_FIELD_NUMBER: _ClassVar[int]
    ARMS_FIELD_NUMBER: _ClassVar[int]
    layer_id: str
    salt: str
    arms: _containers.RepeatedCompositeFieldContainer[IndexExperimentArm]
    def __init__(self, layer_id: _Optional[str] = ..., salt: _Optional[str] = ..., arms: _Optional[_Iterable[_Union[IndexExperimentArm, _Mapping]]] = ...) -> None: ...

class IndexExperimentArm(_message.Message):
    __slots__ = ("arm_id", "traffic_bps", "holdout", "reserve_cpm_micros", "click_rate_weight", "max_ads_per_trip")
    ARM_ID_FIELD_NUMBER: _ClassVar[int]
    TRAFFIC_BPS_FIELD_NUMBER: _ClassVar[int]
    HOLDOUT_FIELD_NUMBER: _ClassVar[int]
    RESERVE_CPM_MICROS_FIELD_NUMBER: _ClassVar[int]
    CLICK_RATE_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    MAX_ADS_PER_TRIP_FIELD_NUMBER: _ClassVar[int]
    arm_id: str
    traffic_bps: int
    holdout: bool
    reserve_cpm_micros: int
    click_rate_weight: float
    max_ads_per_trip: int
    def __init__(self, arm_id: _Optional[str] = ..., traffic_bps: _Optional[int] = ..., holdout: _Optional[bool] = ..., reserve_cpm_micros: _Optional[int] = ..., click_rate_weight: _Optional[float] = ..., max_ads_per_trip: _Optional[int] = ...) -> None: ...

class StoreSettings(_message.Message):
    __slots__ = ("time_zone", "signing_key", "token_ttl_s", "reserve_cpm_micros", "display_name", "max_ads_per_trip", "min_ad_interval_ms", "cart_limits", "ivt_policy")
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    SIGNING_KEY_FIELD_NUMBER: _ClassVar[int]
    TOKEN_TTL_S_FIELD_NUMBER: _ClassVar[int]
    RESERVE_CPM_MICROS_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    MAX_ADS_PER_TRIP_FIELD_NUMBER: _ClassVar[int]
    MIN_AD_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    CART_LIMITS_FIELD_NUMBER: _ClassVar[int]
    IVT_POLICY_FIELD_NUMBER: _ClassVar[int]
    time_zone: str
    signing_key: bytes
    token_ttl_s: int
    reserve_cpm_micros: int
    display_name: str
    max_ads_per_trip: int
    min_ad_interval_ms: int
    cart_limits: CartLimits
    ivt_policy: IvtPolicy
    def __init__(self, time_zone: _Optional[str] = ..., signing_key: _Optional[bytes] = ..., token_ttl_s: _Optional[int] = ..., reserve_cpm_micros: _Optional[int] = ..., display_name: _Optional[str] = ..., max_ads_per_trip: _Optional[int] = ..., min_ad_interval_ms: _Optional[int] = ..., cart_limits: _Optional[_Union[CartLimits, _Mapping]] = ..., ivt_policy: _Optional[_Union[IvtPolicy, _Mapping]] = ...) -> None: ...

class IndexLineItem(_message.Message):
    __slots__ = ("line_item_id", "campaign_id", "advertiser_id", "pricing_model", "bid_micros", "creative_ids", "start_time", "end_time", "frequency_cap_per_session", "budget_allowance_micros", "predicted_ctr", "predicted_cvr", "promoted_product_ids", "triggers", "budget_lease_id", "budget_lease_expire_time", "priority_tier", "creative_frequency_cap_per_session", "campaign_frequency_cap_per_session", "exclusion_label", "daypart_hours", "daypart_weekdays", "pacing_factor", "paused", "campaign_paused", "pass_through_rate", "trigger_rates", "click_through_window_s", "view_through_window_s")
    LINE_ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    ADVERTISER_ID_FIELD_NUMBER: _ClassVar[int]
    PRICING_MODEL_FIELD_NUMBER: _ClassVar[int]
    BID_MICROS_FIELD_NUMBER: _ClassVar[int]
    CREATIVE_IDS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_CAP_PER_SESSION_FIELD_NUMBER: _ClassVar[int]
    BUDGET_ALLOWANCE_MICROS_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_CTR_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_CVR_FIELD_NUMBER: _ClassVar[int]
    PROMOTED_PRODUCT_IDS_FIELD_NUMBER: _ClassVar[int]
    TRIGGERS_FIELD_NUMBER: _ClassVar[int]
    BUDGET_LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    BUDGET_LEASE_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_TIER_FIELD_NUMBER: _ClassVar[int]
    CREATIVE_FREQUENCY_CAP_PER_SESSION_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_FREQUENCY_CAP_PER_SESSION_FIELD_NUMBER: _ClassVar[int]
    EXCLUSION_LABEL_FIELD_NUMBER: _ClassVar[int]
    DAYPART_HOURS_FIELD_NUMBER: _ClassVar[int]
    DAYPART_WEEKDAYS_FIELD_NUMBER: _ClassVar[int]
    PACING_FACTOR_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_PAUSED_FIELD_NUMBER: _ClassVar[int]
    PASS_THROUGH_RATE_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_RATES_FIELD_NUMBER: _ClassVar[int]
    CLICK_THROUGH_WINDOW_S_FIELD_NUMBER: _ClassVar[int]
    VIEW_THROUGH_WINDOW_S_FIELD_NUMBER: _ClassVar[int]
    line_item_id: str
    campaign_id: str
    advertiser_id: str
    pricing_model: _common_pb2.PricingModel
    bid_micros: int
    creative_ids: _containers.RepeatedScalarFieldContainer[str]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    frequency_cap_per_session: int
    budget_allowance_micros: int
    predicted_ctr: float
    predicted_cvr: float
    promoted_product_ids: _containers.RepeatedScalarFieldContainer[str]
    triggers: _containers.RepeatedScalarFieldContainer[_common_pb2.Trigger]
    budget_lease_id: str
    budget_lease_expire_time: _timestamp_pb2.Timestamp
    priority_tier: _common_pb2.PriorityTier
    creative_frequency_cap_per_session: int
    campaign_frequency_cap_per_session: int
    exclusion_label: str
    daypart_hours: _containers.RepeatedScalarFieldContainer[int]
    daypart_weekdays: _containers.RepeatedScalarFieldContainer[int]
    pacing_factor: float
    paused: bool
    campaign_paused: bool
    pass_through_rate: float
    trigger_rates: _containers.RepeatedCompositeFieldContainer[TriggerRates]
    click_through_window_s: int
    view_through_window_s: int
    def __init__(self, line_item_id: _Optional[str] = ..., campaign_id: _Optional[str] = ..., advertiser_id: _Optional[str] = ..., pricing_model: _Optional[_Union[_common_pb2.PricingModel, str]] = ..., bid_micros: _Optional[int] = ..., creative_ids: _Optional[_Iterable[str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., frequency_cap_per_session: _Optional[int] = ..., budget_allowance_micros: _Optional[int] = ..., predicted_ctr: _Optional[float] = ..., predicted_cvr: _Optional[float] = ..., promoted_product_ids: _Optional[_Iterable[str]] = ..., triggers: _Optional[_Iterable[_Union[_common_pb2.Trigger, str]]] = ..., budget_lease_id: _Optional[str] = ..., budget_lease_expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., priority_tier: _Optional[_Union[_common_pb2.PriorityTier, str]] = ..., creative_frequency_cap_per_session: _Optional[int] = ..., campaign_frequency_cap_per_session: _Optional[int] = ..., exclusion_label: _Optional[str] = ..., daypart_hours: _Optional[_Iterable[int]] = ..., daypart_weekdays: _Optional[_Iterable[int]] = ..., pacing_factor: _Optional[float] = ..., paused: _Optional[bool] = ..., campaign_paused: _Optional[bool] = ..., pass_through_rate: _Optional[float] = ..., trigger_rates: _Optional[_Iterable[_Union[TriggerRates, _Mapping]]] = ..., click_through_window_s: _Optional[int] = ..., view_through_window_s: _Optional[int] = ...) -> None: ...

class TriggerRates(_message.Message):
    __slots__ = ("trigger", "predicted_ctr", "predicted_cvr")
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_CTR_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_CVR_FIELD_NUMBER: _ClassVar[int]
    trigger: _common_pb2.Trigger
    predicted_ctr: float
    predicted_cvr: float
    def __init__(self, trigger: _Optional[_Union[_common_pb2.Trigger, str]] = ..., predicted_ctr: _Optional[float] = ..., predicted_cvr: _Optional[float] = ...) -> None: ...

class IndexProduct(_message.Message):
    __slots__ = ("product_id", "name", "aisle_id", "department_id", "brand", "price_micros", "zone_id", "aisle_name")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    AISLE_ID_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    BRAND_FIELD_NUMBER: _ClassVar[int]
    PRICE_MICROS_FIELD_NUMBER: _ClassVar[int]
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    AISLE_NAME_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    name: str
    aisle_id: str
    department_id: str
    brand: str
    price_micros: int
    zone_id: str
    aisle_name: str
    def __init__(self, product_id: _Optional[str] = ..., name: _Optional[str] = ..., aisle_id: _Optional[str] = ..., department_id: _Optional[str] = ..., brand: _Optional[str] = ..., price_micros: _Optional[int] = ..., zone_id: _Optional[str] = ..., aisle_name: _Optional[str] = ...) -> None: ...

class PostingList(_message.Message):
    __slots__ = ("key", "line_item_ids")
    KEY_FIELD_NUMBER: _ClassVar[int]
    LINE_ITEM_IDS_FIELD_NUMBER: _ClassVar[int]
    key: str
    line_item_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, key: _Optional[str] = ..., line_item_ids: _Optional[_Iterable[str]] = ...) -> None: ...
