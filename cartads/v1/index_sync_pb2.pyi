from cartads.v1 import index_pb2 as _index_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StreamIndexRequest(_message.Message):
    __slots__ = ("store_id", "edge_id", "version", "response_nonce", "error_detail", "signing_key")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    EDGE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_NONCE_FIELD_NUMBER: _ClassVar[int]
    ERROR_DETAIL_FIELD_NUMBER: _ClassVar[int]
    SIGNING_KEY_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    edge_id: str
    version: str
    response_nonce: str
    error_detail: str
    signing_key: EdgeSigningKey
    def __init__(self, store_id: _Optional[str] = ..., edge_id: _Optional[str] = ..., version: _Optional[str] = ..., response_nonce: _Optional[str] = ..., error_detail: _Optional[str] = ..., signing_key: _Optional[_Union[EdgeSigningKey, _Mapping]] = ...) -> None: ...

class EdgeSigningKey(_message.Message):
    __slots__ = ("key_id", "key")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    key: bytes
    def __init__(self, key_id: _Optional[str] = ..., key: _Optional[bytes] = ...) -> None: ...

class StreamIndexResponse(_message.Message):
    __slots__ = ("version", "nonce", "snapshot", "delta", "chunk")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    version: str
    nonce: str
    snapshot: _index_pb2.StoreIndex
    delta: IndexDelta
    chunk: SnapshotChunk
    def __init__(self, version: _Optional[str] = ..., nonce: _Optional[str] = ..., snapshot: _Optional[_Union[_index_pb2.StoreIndex, _Mapping]] = ..., delta: _Optional[_Union[IndexDelta, _Mapping]] = ..., chunk: _Optional[_Union[SnapshotChunk, _Mapping]] = ...) -> None: ...

class SnapshotChunk(_message.Message):
    __slots__ = ("chunk_index", "chunk_count", "total_bytes", "sha256", "data")
    CHUNK_INDEX_FIELD_NUMBER: _ClassVar[int]
    CHUNK_COUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    chunk_index: int
    chunk_count: int
    total_bytes: int
    sha256: str
    data: bytes
    def __init__(self, chunk_index: _Optional[int] = ..., chunk_count: _Optional[int] = ..., total_bytes: _Optional[int] = ..., sha256: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class IndexDelta(_message.Message):
    __slots__ = ("base_version", "replaced_fields", "replaced", "upserted", "removed")
    BASE_VERSION_FIELD_NUMBER: _ClassVar[int]
    REPLACED_FIELDS_FIELD_NUMBER: _ClassVar[int]
    REPLACED_FIELD_NUMBER: _ClassVar[int]
    UPSERTED_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    base_version: str
    replaced_fields: _containers.RepeatedScalarFieldContainer[str]
    replaced: _index_pb2.StoreIndex
    upserted: _index_pb2.StoreIndex
    removed: _containers.RepeatedCompositeFieldContainer[RemovedKeys]
    def __init__(self, base_version: _Optional[str] = ..., replaced_fields: _Optional[_Iterable[str]] = ..., replaced: _Optional[_Union[_index_pb2.StoreIndex, _Mapping]] = ..., upserted: _Optional[_Union[_index_pb2.StoreIndex, _Mapping]] = ..., removed: _Optional[_Iterable[_Union[RemovedKeys, _Mapping]]] = ...) -> None: ...

class RemovedKeys(_message.Message):
    __slots__ = ("field", "keys")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    field: str
    keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, field: _Optional[str] = ..., keys: _Optional[_Iterable[str]] = ...) -> None: ...
