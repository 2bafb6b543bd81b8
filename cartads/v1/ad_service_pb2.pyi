import datetime

from cartads.v1 import common_pb2 as _common_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NoFillReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NO_FILL_REASON_UNSPECIFIED: _ClassVar[NoFillReason]
    NO_FILL_REASON_NO_INDEX: _ClassVar[NoFillReason]
    NO_FILL_REASON_NO_CANDIDATES: _ClassVar[NoFillReason]
    NO_FILL_REASON_FREQUENCY_CAPPED: _ClassVar[NoFillReason]
    NO_FILL_REASON_NOT_ELIGIBLE: _ClassVar[NoFillReason]
    NO_FILL_REASON_TRIP_CAP: _ClassVar[NoFillReason]
    NO_FILL_REASON_NO_SLOTS: _ClassVar[NoFillReason]
    NO_FILL_REASON_OUT_OF_SCHEDULE: _ClassVar[NoFillReason]
    NO_FILL_REASON_BUDGET_EXHAUSTED: _ClassVar[NoFillReason]
    NO_FILL_REASON_AD_INTERVAL: _ClassVar[NoFillReason]
    NO_FILL_REASON_IN_BASKET: _ClassVar[NoFillReason]
    NO_FILL_REASON_BELOW_RESERVE: _ClassVar[NoFillReason]
    NO_FILL_REASON_PAUSED: _ClassVar[NoFillReason]
    NO_FILL_REASON_THROTTLED: _ClassVar[NoFillReason]
    NO_FILL_REASON_EXPERIMENT_HOLDOUT: _ClassVar[NoFillReason]
    NO_FILL_REASON_JOURNAL_FULL: _ClassVar[NoFillReason]
NO_FILL_REASON_UNSPECIFIED: NoFillReason
NO_FILL_REASON_NO_INDEX: NoFillReason
NO_FILL_REASON_NO_CANDIDATES: NoFillReason
NO_FILL_REASON_FREQUENCY_CAPPED: NoFillReason
NO_FILL_REASON_NOT_ELIGIBLE: NoFillReason
NO_FILL_REASON_TRIP_CAP: NoFillReason
NO_FILL_REASON_NO_SLOTS: NoFillReason
NO_FILL_REASON_OUT_OF_SCHEDULE: NoFillReason
NO_FILL_REASON_BUDGET_EXHAUSTED: NoFillReason
NO_FILL_REASON_AD_INTERVAL: NoFillReason
NO_FILL_REASON_IN_BASKET: NoFillReason
NO_FILL_REASON_BELOW_RESERVE: NoFillReason
NO_FILL_REASON_PAUSED: NoFillReason
NO_FILL_REASON_THROTTLED: NoFillReason
NO_FILL_REASON_EXPERIMENT_HOLDOUT: NoFillReason
NO_FILL_REASON_JOURNAL_FULL: NoFillReason

class GetStoreInfoRequest(_message.Message):
    __slots__ = ("store_id", "cart_id", "cart_credential")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    CART_ID_FIELD_NUMBER: _ClassVar[int]
    CART_CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    cart_id: str
    cart_credential: str
    def __init__(self, store_id: _Optional[str] = ..., cart_id: _Optional[str] = ..., cart_credential: _Optional[str] = ...) -> None: ...

class GetStoreInfoResponse(_message.Message):
    __slots__ = ("store_id", "display_name", "time_zone", "zones", "index_version")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    ZONES_FIELD_NUMBER: _ClassVar[int]
    INDEX_VERSION_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    display_name: str
    time_zone: str
    zones: _containers.RepeatedCompositeFieldContainer[StoreZone]
    index_version: str
    def __init__(self, store_id: _Optional[str] = ..., display_name: _Optional[str] = ..., time_zone: _Optional[str] = ..., zones: _Optional[_Iterable[_Union[StoreZone, _Mapping]]] = ..., index_version: _Optional[str] = ...) -> None: ...

class StoreZone(_message.Message):
    __slots__ = ("zone_id", "aisle_id", "display_name")
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    AISLE_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    zone_id: str
    aisle_id: str
    display_name: str
    def __init__(self, zone_id: _Optional[str] = ..., aisle_id: _Optional[str] = ..., display_name: _Optional[str] = ...) -> None: ...

class GetAdsRequest(_message.Message):
    __slots__ = ("store_id", "cart_id", "session_id", "request_id", "trigger", "scanned_product_id", "zone_id", "basket", "slots", "max_ads", "cart_credential")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    CART_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    SCANNED_PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    BASKET_FIELD_NUMBER: _ClassVar[int]
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    MAX_ADS_FIELD_NUMBER: _ClassVar[int]
    CART_CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    cart_id: str
    session_id: str
    request_id: str
    trigger: _common_pb2.Trigger
    scanned_product_id: str
    zone_id: str
    basket: _containers.RepeatedCompositeFieldContainer[_common_pb2.BasketLine]
    slots: _containers.RepeatedCompositeFieldContainer[_common_pb2.Slot]
    max_ads: int
    cart_credential: str
    def __init__(self, store_id: _Optional[str] = ..., cart_id: _Optional[str] = ..., session_id: _Optional[str] = ..., request_id: _Optional[str] = ..., trigger: _Optional[_Union[_common_pb2.Trigger, str]] = ..., scanned_product_id: _Optional[str] = ..., zone_id: _Optional[str] = ..., basket: _Optional[_Iterable[_Union[_common_pb2.BasketLine, _Mapping]]] = ..., slots: _Optional[_Iterable[_Union[_common_pb2.Slot, _Mapping]]] = ..., max_ads: _Optional[int] = ..., cart_credential: _Optional[str] = ...) -> None: ...

class Ad(_message.Message):
    __slots__ = ("ad_id", "campaign_id", "line_item_id", "creative", "slot_id", "tracking_token", "advertiser_id")
    AD_ID_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    LINE_ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    CREATIVE_FIELD_NUMBER: _ClassVar[int]
    SLOT_ID_FIELD_NUMBER: _ClassVar[int]
    TRACKING_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ADVERTISER_ID_FIELD_NUMBER: _ClassVar[int]
    ad_id: str
    campaign_id: str
    line_item_id: str
    creative: _common_pb2.Creative
    slot_id: str
    tracking_token: str
    advertiser_id: str
    def __init__(self, ad_id: _Optional[str] = ..., campaign_id: _Optional[str] = ..., line_item_id: _Optional[str] = ..., creative: _Optional[_Union[_common_pb2.Creative, _Mapping]] = ..., slot_id: _Optional[str] = ..., tracking_token: _Optional[str] = ..., advertiser_id: _Optional[str] = ...) -> None: ...

class GetAdsResponse(_message.Message):
    __slots__ = ("ads", "index_version", "no_fill_reason", "request_id")
    ADS_FIELD_NUMBER: _ClassVar[int]
    INDEX_VERSION_FIELD_NUMBER: _ClassVar[int]
    NO_FILL_REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ads: _containers.RepeatedCompositeFieldContainer[Ad]
    index_version: str
    no_fill_reason: NoFillReason
    request_id: str
    def __init__(self, ads: _Optional[_Iterable[_Union[Ad, _Mapping]]] = ..., index_version: _Optional[str] = ..., no_fill_reason: _Optional[_Union[NoFillReason, str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class ReportEventsRequest(_message.Message):
    __slots__ = ("store_id", "cart_id", "events", "cart_credential", "send_time")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    CART_ID_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    CART_CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    SEND_TIME_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    cart_id: str
    events: _containers.RepeatedCompositeFieldContainer[_common_pb2.CartEvent]
    cart_credential: str
    send_time: _timestamp_pb2.Timestamp
    def __init__(self, store_id: _Optional[str] = ..., cart_id: _Optional[str] = ..., events: _Optional[_Iterable[_Union[_common_pb2.CartEvent, _Mapping]]] = ..., cart_credential: _Optional[str] = ..., send_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReportEventsResponse(_message.Message):
    __slots__ = ("accepted_count", "duplicate_count", "conversion_count")
    ACCEPTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_COUNT_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_COUNT_FIELD_NUMBER: _ClassVar[int]
    accepted_count: int
    duplicate_count: int
    conversion_count: int
    def __init__(self, accepted_count: _Optional[int] = ..., duplicate_count: _Optional[int] = ..., conversion_count: _Optional[int] = ...) -> None: ...
