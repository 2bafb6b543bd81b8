import datetime

from cartads.v1 import ad_service_pb2 as _ad_service_pb2
from cartads.v1 import common_pb2 as _common_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RequestCounts(_message.Message):
    __slots__ = ("rows", "line_items")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    LINE_ITEMS_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[RequestCountRow]
    line_items: _containers.RepeatedCompositeFieldContainer[LineItemCountRow]
    def __init__(self, rows: _Optional[_Iterable[_Union[RequestCountRow, _Mapping]]] = ..., line_items: _Optional[_Iterable[_Union[LineItemCountRow, _Mapping]]] = ...) -> None: ...

class RequestCountRow(_message.Message):
    __slots__ = ("hour_start_time", "trigger", "no_fill_reason", "requests", "ads")
    HOUR_START_TIME_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    NO_FILL_REASON_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    ADS_FIELD_NUMBER: _ClassVar[int]
    hour_start_time: _timestamp_pb2.Timestamp
    trigger: _common_pb2.Trigger
    no_fill_reason: _ad_service_pb2.NoFillReason
    requests: int
    ads: int
    def __init__(self, hour_start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., trigger: _Optional[_Union[_common_pb2.Trigger, str]] = ..., no_fill_reason: _Optional[_Union[_ad_service_pb2.NoFillReason, str]] = ..., requests: _Optional[int] = ..., ads: _Optional[int] = ...) -> None: ...

class LineItemCountRow(_message.Message):
    __slots__ = ("hour_start_time", "line_item_id", "ads", "throttled")
    HOUR_START_TIME_FIELD_NUMBER: _ClassVar[int]
    LINE_ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    ADS_FIELD_NUMBER: _ClassVar[int]
    THROTTLED_FIELD_NUMBER: _ClassVar[int]
    hour_start_time: _timestamp_pb2.Timestamp
    line_item_id: str
    ads: int
    throttled: int
    def __init__(self, hour_start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., line_item_id: _Optional[str] = ..., ads: _Optional[int] = ..., throttled: _Optional[int] = ...) -> None: ...
