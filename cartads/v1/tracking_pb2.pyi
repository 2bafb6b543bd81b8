from cartads.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TrackingTokenPayload(_message.Message):
    __slots__ = ("ad_id", "store_id", "cart_id", "session_id", "campaign_id", "line_item_id", "creative_id", "pricing_model", "price_micros", "issue_time_unix_ms", "index_version", "advertiser_id", "trigger", "experiment_arms", "signing_key_id")
    AD_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    CART_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    LINE_ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    CREATIVE_ID_FIELD_NUMBER: _ClassVar[int]
    PRICING_MODEL_FIELD_NUMBER: _ClassVar[int]
    PRICE_MICROS_FIELD_NUMBER: _ClassVar[int]
    ISSUE_TIME_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    INDEX_VERSION_FIELD_NUMBER: _ClassVar[int]
    ADVERTISER_ID_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    EXPERIMENT_ARMS_FIELD_NUMBER: _ClassVar[int]
    SIGNING_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    ad_id: str
    store_id: str
    cart_id: str
    session_id: str
    campaign_id: str
    line_item_id: str
    creative_id: str
    pricing_model: _common_pb2.PricingModel
    price_micros: int
    issue_time_unix_ms: int
    index_version: str
    advertiser_id: str
    trigger: _common_pb2.Trigger
    experiment_arms: _containers.RepeatedCompositeFieldContainer[_common_pb2.ArmAssignment]
    signing_key_id: str
    def __init__(self, ad_id: _Optional[str] = ..., store_id: _Optional[str] = ..., cart_id: _Optional[str] = ..., session_id: _Optional[str] = ..., campaign_id: _Optional[str] = ..., line_item_id: _Optional[str] = ..., creative_id: _Optional[str] = ..., pricing_model: _Optional[_Union[_common_pb2.PricingModel, str]] = ..., price_micros: _Optional[int] = ..., issue_time_unix_ms: _Optional[int] = ..., index_version: _Optional[str] = ..., advertiser_id: _Optional[str] = ..., trigger: _Optional[_Union[_common_pb2.Trigger, str]] = ..., experiment_arms: _Optional[_Iterable[_Union[_common_pb2.ArmAssignment, _Mapping]]] = ..., signing_key_id: _Optional[str] = ...) -> None: ...
