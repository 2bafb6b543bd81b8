"""An index version is the hash of its content: the one rule the compiler and the edge share.

The version is the hex sha256 of the ``StoreIndex`` serialized deterministically without its
``version`` and ``compile_time`` fields, so equal content means an equal version whenever it was
compiled, and an edge can recompute what the cloud announced.
"""

from __future__ import annotations

import hashlib

from google.protobuf.timestamp_pb2 import Timestamp

from cartads.v1.index_pb2 import StoreIndex


def content_version(index: StoreIndex) -> str:
    """The content version of ``index`` (whatever its own ``version`` and ``compile_time`` say).

    The two fields are cleared on ``index`` itself and restored, because copying a multi-megabyte
    index costs more than hashing it; no other thread may read ``index`` meanwhile.
    """
    version = index.version
    had_compile_time = index.HasField("compile_time")
    compile_time = Timestamp()
    if had_compile_time:
        compile_time.CopyFrom(index.compile_time)
    index.ClearField("version")
    index.ClearField("compile_time")
    try:
        return hashlib.sha256(index.SerializeToString(deterministic=True)).hexdigest()
    finally:
        index.version = version
        if had_compile_time:
            index.compile_time.CopyFrom(compile_time)
