import datetime

from cartads.v1 import common_pb2 as _common_pb2
from cartads.v1 import request_counts_pb2 as _request_counts_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JournaledEvent(_message.Message):
    __slots__ = ("seq", "event", "receive_time", "request_counts", "cart_credential_id", "invalid_rule", "cart_clock_offset_ms")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    RECEIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_COUNTS_FIELD_NUMBER: _ClassVar[int]
    CART_CREDENTIAL_ID_FIELD_NUMBER: _ClassVar[int]
    INVALID_RULE_FIELD_NUMBER: _ClassVar[int]
    CART_CLOCK_OFFSET_MS_FIELD_NUMBER: _ClassVar[int]
    seq: int
    event: _common_pb2.CartEvent
    receive_time: _timestamp_pb2.Timestamp
    request_counts: _request_counts_pb2.RequestCounts
    cart_credential_id: str
    invalid_rule: _common_pb2.InvalidTrafficRule
    cart_clock_offset_ms: int
    def __init__(self, seq: _Optional[int] = ..., event: _Optional[_Union[_common_pb2.CartEvent, _Mapping]] = ..., receive_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., request_counts: _Optional[_Union[_request_counts_pb2.RequestCounts, _Mapping]] = ..., cart_credential_id: _Optional[str] = ..., invalid_rule: _Optional[_Union[_common_pb2.InvalidTrafficRule, str]] = ..., cart_clock_offset_ms: _Optional[int] = ...) -> None: ...

class UploadEventsRequest(_message.Message):
    __slots__ = ("store_id", "edge_id", "events")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    EDGE_ID_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    edge_id: str
    events: _containers.RepeatedCompositeFieldContainer[JournaledEvent]
    def __init__(self, store_id: _Optional[str] = ..., edge_id: _Optional[str] = ..., events: _Optional[_Iterable[_Union[JournaledEvent, _Mapping]]] = ...) -> None: ...

class UploadEventsResponse(_message.Message):
    __slots__ = ("acknowledged_seq", "billed_count", "duplicate_count", "recorded_count", "rejected_count", "invalid_count", "over_delivered_count")
    ACKNOWLEDGED_SEQ_FIELD_NUMBER: _ClassVar[int]
    BILLED_COUNT_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_COUNT_FIELD_NUMBER: _ClassVar[int]
    RECORDED_COUNT_FIELD_NUMBER: _ClassVar[int]
    REJECTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    INVALID_COUNT_FIELD_NUMBER: _ClassVar[int]
    OVER_DELIVERED_COUNT_FIELD_NUMBER: _ClassVar[int]
    acknowledged_seq: int
    billed_count: int
    duplicate_count: int
    recorded_count: int
    rejected_count: int
    invalid_count: int
    over_delivered_count: int
    def __init__(self, acknowledged_seq: _Optional[int] = ..., billed_count: _Optional[int] = ..., duplicate_count: _Optional[int] = ..., recorded_count: _Optional[int] = ..., rejected_count: _Optional[int] = ..., invalid_count: _Optional[int] = ..., over_delivered_count: _Optional[int] = ...) -> None: ...
