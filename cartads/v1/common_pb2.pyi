import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Trigger(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRIGGER_UNSPECIFIED: _ClassVar[Trigger]
    TRIGGER_SESSION_START: _ClassVar[Trigger]
    TRIGGER_SCAN: _ClassVar[Trigger]
    TRIGGER_ZONE_ENTER: _ClassVar[Trigger]
    TRIGGER_IDLE: _ClassVar[Trigger]
    TRIGGER_CHECKOUT: _ClassVar[Trigger]

class CreativeFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CREATIVE_FORMAT_UNSPECIFIED: _ClassVar[CreativeFormat]
    CREATIVE_FORMAT_SPONSORED_PRODUCT: _ClassVar[CreativeFormat]
    CREATIVE_FORMAT_BANNER: _ClassVar[CreativeFormat]
    CREATIVE_FORMAT_COUPON: _ClassVar[CreativeFormat]
    CREATIVE_FORMAT_RECIPE: _ClassVar[CreativeFormat]

class PricingModel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRICING_MODEL_UNSPECIFIED: _ClassVar[PricingModel]
    PRICING_MODEL_CPM: _ClassVar[PricingModel]
    PRICING_MODEL_CPC: _ClassVar[PricingModel]
    PRICING_MODEL_CPA: _ClassVar[PricingModel]

class PriorityTier(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRIORITY_TIER_UNSPECIFIED: _ClassVar[PriorityTier]
    PRIORITY_TIER_SPONSORSHIP: _ClassVar[PriorityTier]
    PRIORITY_TIER_AUCTION: _ClassVar[PriorityTier]
    PRIORITY_TIER_HOUSE: _ClassVar[PriorityTier]

class EventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_TYPE_UNSPECIFIED: _ClassVar[EventType]
    EVENT_TYPE_IMPRESSION: _ClassVar[EventType]
    EVENT_TYPE_CLICK: _ClassVar[EventType]
    EVENT_TYPE_DISMISS: _ClassVar[EventType]
    EVENT_TYPE_BASKET_ADD: _ClassVar[EventType]
    EVENT_TYPE_BASKET_REMOVE: _ClassVar[EventType]
    EVENT_TYPE_CHECKOUT: _ClassVar[EventType]
    EVENT_TYPE_CONVERSION: _ClassVar[EventType]
    EVENT_TYPE_AD_PLAY: _ClassVar[EventType]
    EVENT_TYPE_ATTRIBUTED_SALE: _ClassVar[EventType]
    EVENT_TYPE_HALO_SALE: _ClassVar[EventType]

class AttributionKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ATTRIBUTION_KIND_UNSPECIFIED: _ClassVar[AttributionKind]
    ATTRIBUTION_KIND_VIEW_THROUGH: _ClassVar[AttributionKind]
    ATTRIBUTION_KIND_CLICK_THROUGH: _ClassVar[AttributionKind]

class InvalidTrafficRule(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INVALID_TRAFFIC_RULE_UNSPECIFIED: _ClassVar[InvalidTrafficRule]
    INVALID_TRAFFIC_RULE_CLICK_WITHOUT_IMPRESSION: _ClassVar[InvalidTrafficRule]
    INVALID_TRAFFIC_RULE_TOO_FAST: _ClassVar[InvalidTrafficRule]
    INVALID_TRAFFIC_RULE_VISIBLE_DURATION: _ClassVar[InvalidTrafficRule]
    INVALID_TRAFFIC_RULE_CLICK_CAP: _ClassVar[InvalidTrafficRule]
    INVALID_TRAFFIC_RULE_EVENT_TIME: _ClassVar[InvalidTrafficRule]
    INVALID_TRAFFIC_RULE_OUT_OF_BOUNDS: _ClassVar[InvalidTrafficRule]
    INVALID_TRAFFIC_RULE_NON_PRODUCTION_CART: _ClassVar[InvalidTrafficRule]
    INVALID_TRAFFIC_RULE_CLICK_RATE_OUTLIER: _ClassVar[InvalidTrafficRule]
    INVALID_TRAFFIC_RULE_TOKEN: _ClassVar[InvalidTrafficRule]
    INVALID_TRAFFIC_RULE_CONVERSION: _ClassVar[InvalidTrafficRule]
    INVALID_TRAFFIC_RULE_UNENROLLED_CART: _ClassVar[InvalidTrafficRule]

class CartTrafficClass(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CART_TRAFFIC_CLASS_UNSPECIFIED: _ClassVar[CartTrafficClass]
    CART_TRAFFIC_CLASS_PRODUCTION: _ClassVar[CartTrafficClass]
    CART_TRAFFIC_CLASS_TEST: _ClassVar[CartTrafficClass]
    CART_TRAFFIC_CLASS_STAFF: _ClassVar[CartTrafficClass]
TRIGGER_UNSPECIFIED: Trigger
TRIGGER_SESSION_START: Trigger
TRIGGER_SCAN: Trigger
TRIGGER_ZONE_ENTER: Trigger
TRIGGER_IDLE: Trigger
TRIGGER_CHECKOUT: Trigger
CREATIVE_FORMAT_UNSPECIFIED: CreativeFormat
CREATIVE_FORMAT_SPONSORED_PRODUCT: CreativeFormat
CREATIVE_FORMAT_BANNER: CreativeFormat
CREATIVE_FORMAT_COUPON: CreativeFormat
CREATIVE_FORMAT_RECIPE: CreativeFormat
PRICING_MODEL_UNSPECIFIED: PricingModel
PRICING_MODEL_CPM: PricingModel
PRICING_MODEL_CPC: PricingModel
PRICING_MODEL_CPA: PricingModel
PRIORITY_TIER_UNSPECIFIED: PriorityTier
PRIORITY_TIER_SPONSORSHIP: PriorityTier
PRIORITY_TIER_AUCTION: PriorityTier
PRIORITY_TIER_HOUSE: PriorityTier
EVENT_TYPE_UNSPECIFIED: EventType
EVENT_TYPE_IMPRESSION: EventType
EVENT_TYPE_CLICK: EventType
EVENT_TYPE_DISMISS: EventType
EVENT_TYPE_BASKET_ADD: EventType
EVENT_TYPE_BASKET_REMOVE: EventType
EVENT_TYPE_CHECKOUT: EventType
EVENT_TYPE_CONVERSION: EventType
EVENT_TYPE_AD_PLAY: EventType
EVENT_TYPE_ATTRIBUTED_SALE: EventType
EVENT_TYPE_HALO_SALE: EventType
ATTRIBUTION_KIND_UNSPECIFIED: AttributionKind
ATTRIBUTION_KIND_VIEW_THROUGH: AttributionKind
ATTRIBUTION_KIND_CLICK_THROUGH: AttributionKind
INVALID_TRAFFIC_RULE_UNSPECIFIED: InvalidTrafficRule
INVALID_TRAFFIC_RULE_CLICK_WITHOUT_IMPRESSION: InvalidTrafficRule
INVALID_TRAFFIC_RULE_TOO_FAST: InvalidTrafficRule
INVALID_TRAFFIC_RULE_VISIBLE_DURATION: InvalidTrafficRule
INVALID_TRAFFIC_RULE_CLICK_CAP: InvalidTrafficRule
INVALID_TRAFFIC_RULE_EVENT_TIME: InvalidTrafficRule
INVALID_TRAFFIC_RULE_OUT_OF_BOUNDS: InvalidTrafficRule
INVALID_TRAFFIC_RULE_NON_PRODUCTION_CART: InvalidTrafficRule
INVALID_TRAFFIC_RULE_CLICK_RATE_OUTLIER: InvalidTrafficRule
INVALID_TRAFFIC_RULE_TOKEN: InvalidTrafficRule
INVALID_TRAFFIC_RULE_CONVERSION: InvalidTrafficRule
INVALID_TRAFFIC_RULE_UNENROLLED_CART: InvalidTrafficRule
CART_TRAFFIC_CLASS_UNSPECIFIED: CartTrafficClass
CART_TRAFFIC_CLASS_PRODUCTION: CartTrafficClass
CART_TRAFFIC_CLASS_TEST: CartTrafficClass
CART_TRAFFIC_CLASS_STAFF: CartTrafficClass

class BasketLine(_message.Message):
    __slots__ = ("product_id", "quantity")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    quantity: int
    def __init__(self, product_id: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class Slot(_message.Message):
    __slots__ = ("slot_id", "format")
    SLOT_ID_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    slot_id: str
    format: CreativeFormat
    def __init__(self, slot_id: _Optional[str] = ..., format: _Optional[_Union[CreativeFormat, str]] = ...) -> None: ...

class Creative(_message.Message):
    __slots__ = ("creative_id", "format", "headline", "body", "image_url", "promoted_product_id", "call_to_action", "location_hint", "price_micros", "offer_text", "coupon_code", "image_asset_sha256", "recipe_items")
    CREATIVE_ID_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    HEADLINE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URL_FIELD_NUMBER: _ClassVar[int]
    PROMOTED_PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    CALL_TO_ACTION_FIELD_NUMBER: _ClassVar[int]
    LOCATION_HINT_FIELD_NUMBER: _ClassVar[int]
    PRICE_MICROS_FIELD_NUMBER: _ClassVar[int]
    OFFER_TEXT_FIELD_NUMBER: _ClassVar[int]
    COUPON_CODE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_ASSET_SHA256_FIELD_NUMBER: _ClassVar[int]
    RECIPE_ITEMS_FIELD_NUMBER: _ClassVar[int]
    creative_id: str
    format: CreativeFormat
    headline: str
    body: str
    image_url: str
    promoted_product_id: str
    call_to_action: str
    location_hint: str
    price_micros: int
    offer_text: str
    coupon_code: str
    image_asset_sha256: str
    recipe_items: _containers.RepeatedCompositeFieldContainer[RecipeItem]
    def __init__(self, creative_id: _Optional[str] = ..., format: _Optional[_Union[CreativeFormat, str]] = ..., headline: _Optional[str] = ..., body: _Optional[str] = ..., image_url: _Optional[str] = ..., promoted_product_id: _Optional[str] = ..., call_to_action: _Optional[str] = ..., location_hint: _Optional[str] = ..., price_micros: _Optional[int] = ..., offer_text: _Optional[str] = ..., coupon_code: _Optional[str] = ..., image_asset_sha256: _Optional[str] = ..., recipe_items: _Optional[_Iterable[_Union[RecipeItem, _Mapping]]] = ...) -> None: ...

class RecipeItem(_message.Message):
    __slots__ = ("product_id", "name", "aisle_id", "location_hint", "price_micros")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    AISLE_ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_HINT_FIELD_NUMBER: _ClassVar[int]
    PRICE_MICROS_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    name: str
    aisle_id: str
    location_hint: str
    price_micros: int
    def __init__(self, product_id: _Optional[str] = ..., name: _Optional[str] = ..., aisle_id: _Optional[str] = ..., location_hint: _Optional[str] = ..., price_micros: _Optional[int] = ...) -> None: ...

class CartEvent(_message.Message):
    __slots__ = ("event_id", "type", "cart_id", "session_id", "tracking_token", "ad_id", "product_id", "quantity", "visible_duration_ms", "occur_time", "attribution", "attributed_event_id", "purchased_lines", "loyalty_id", "cross_trip", "experiment_arms", "unit_price_micros", "advertised_product")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CART_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    TRACKING_TOKEN_FIELD_NUMBER: _ClassVar[int]
    AD_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    VISIBLE_DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    OCCUR_TIME_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    PURCHASED_LINES_FIELD_NUMBER: _ClassVar[int]
    LOYALTY_ID_FIELD_NUMBER: _ClassVar[int]
    CROSS_TRIP_FIELD_NUMBER: _ClassVar[int]
    EXPERIMENT_ARMS_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_MICROS_FIELD_NUMBER: _ClassVar[int]
    ADVERTISED_PRODUCT_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    type: EventType
    cart_id: str
    session_id: str
    tracking_token: str
    ad_id: str
    product_id: str
    quantity: int
    visible_duration_ms: int
    occur_time: _timestamp_pb2.Timestamp
    attribution: AttributionKind
    attributed_event_id: str
    purchased_lines: _containers.RepeatedCompositeFieldContainer[BasketLine]
    loyalty_id: str
    cross_trip: bool
    experiment_arms: _containers.RepeatedCompositeFieldContainer[ArmAssignment]
    unit_price_micros: int
    advertised_product: bool
    def __init__(self, event_id: _Optional[str] = ..., type: _Optional[_Union[EventType, str]] = ..., cart_id: _Optional[str] = ..., session_id: _Optional[str] = ..., tracking_token: _Optional[str] = ..., ad_id: _Optional[str] = ..., product_id: _Optional[str] = ..., quantity: _Optional[int] = ..., visible_duration_ms: _Optional[int] = ..., occur_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attribution: _Optional[_Union[AttributionKind, str]] = ..., attributed_event_id: _Optional[str] = ..., purchased_lines: _Optional[_Iterable[_Union[BasketLine, _Mapping]]] = ..., loyalty_id: _Optional[str] = ..., cross_trip: _Optional[bool] = ..., experiment_arms: _Optional[_Iterable[_Union[ArmAssignment, _Mapping]]] = ..., unit_price_micros: _Optional[int] = ..., advertised_product: _Optional[bool] = ...) -> None: ...

class ArmAssignment(_message.Message):
    __slots__ = ("layer_id", "arm_id")
    LAYER_ID_FIELD_NUMBER: _ClassVar[int]
    ARM_ID_FIELD_NUMBER: _ClassVar[int]
    layer_id: str
    arm_id: str
    def __init__(self, layer_id: _Optional[str] = ..., arm_id: _Optional[str] = ...) -> None: ...
