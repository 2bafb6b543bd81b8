from cartads.v1 import index_pb2 as _index_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StreamIndexRequest(_message.Message):
    __slots__ = ("store_id", "edge_id", "version", "response_nonce", "error_detail")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    EDGE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_NONCE_FIELD_NUMBER: _ClassVar[int]
    ERROR_DETAIL_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    edge_id: str
    version: str
    response_nonce: str
    error_detail: str
    def __init__(self, store_id: _Optional[str] = ..., edge_id: _Optional[str] = ..., version: _Optional[str] = ..., response_nonce: _Optional[str] = ..., error_detail: _Optional[str] = ...) -> None: ...

class StreamIndexResponse(_message.Message):
    __slots__ = ("version", "nonce", "snapshot")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    version: str
    nonce: str
    snapshot: _index_pb2.StoreIndex
    def __init__(self, version: _Optional[str] = ..., nonce: _Optional[str] = ..., snapshot: _Optional[_Union[_index_pb2.StoreIndex, _Mapping]] = ...) -> None: ...
