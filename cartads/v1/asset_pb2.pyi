from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Asset(_message.Message):
    __slots__ = ("sha256", "content_type", "width", "height", "data")
    SHA256_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    content_type: str
    width: int
    height: int
    data: bytes
    def __init__(self, sha256: _Optional[str] = ..., content_type: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., data: _Optional[bytes] = ...) -> None: ...

class AssetInfo(_message.Message):
    __slots__ = ("sha256", "content_type", "width", "height", "size_bytes", "sanitized")
    SHA256_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SANITIZED_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    content_type: str
    width: int
    height: int
    size_bytes: int
    sanitized: bool
    def __init__(self, sha256: _Optional[str] = ..., content_type: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., size_bytes: _Optional[int] = ..., sanitized: _Optional[bool] = ...) -> None: ...

class BatchGetAssetsRequest(_message.Message):
    __slots__ = ("store_id", "sha256s")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    SHA256S_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    sha256s: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, store_id: _Optional[str] = ..., sha256s: _Optional[_Iterable[str]] = ...) -> None: ...

class BatchGetAssetsResponse(_message.Message):
    __slots__ = ("assets",)
    ASSETS_FIELD_NUMBER: _ClassVar[int]
    assets: _containers.RepeatedCompositeFieldContainer[Asset]
    def __init__(self, assets: _Optional[_Iterable[_Union[Asset, _Mapping]]] = ...) -> None: ...
