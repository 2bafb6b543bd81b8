"""The state of one edge's index stream, as a machine: events in, decisions out. Pure.

The shell (IndexSyncServicer and IndexStream) reads the stream, the clock and ``secrets``, feeds
each event to the machine with the values it needs (the nonce to use, ``now_us``), and performs
what comes back: store writes, pushes, logs. Nothing here awaits, reads a clock or draws a nonce.

States:

- AWAITING_HELLO: nothing received yet.
- SUBSCRIBING: the hello is well formed; the shell checks access and that the store exists.
- IDLE: subscribed, no update in flight.
- AWAITING_ANSWER: one update in flight, known by its nonce.
- EDGE_SILENT: the edge closed its sending side; it can no longer answer.
- CLOSED: the stream is over.

Events, and what each emits:

- ``on_hello(store_id, edge_id, version)``, in AWAITING_HELLO: ``Reject`` naming each missing
  store_id or edge_id (a protocol violation; to CLOSED), else ``Subscribe`` (to SUBSCRIBING).
  ``version`` is what the edge says it holds.
- ``on_subscribed(now_us)``, in SUBSCRIBING: ``RecordConnected`` with the version held (to IDLE).
- ``on_version(version)``, a compiled version is available (IDLE, AWAITING_ANSWER, EDGE_SILENT):
  nothing while an update is in flight (one at a time, as in xDS), nothing when the edge holds that
  version, nothing when the edge refused that version as a full snapshot (given up until another
  version comes); else ``SendUpdate`` from the held version, or as a full snapshot (base "") when
  the edge holds nothing or refused a delta since its last ACK.
- ``on_update_sent(version, nonce, kind, now_us)``, the update offered by the last ``SendUpdate``
  went out under ``nonce`` as a delta or a full snapshot: ``RecordUpdateSent`` (to AWAITING_ANSWER;
  in EDGE_SILENT the edge is taken to hold it at once, since it cannot answer).
- ``on_answer(version, nonce, error, now_us)``, an ACK (no error) or NACK from the edge (IDLE,
  AWAITING_ANSWER): ``IgnoreStaleAnswer`` when ``nonce`` is not the in-flight update's (unknown,
  empty, answered already or superseded: such an answer says nothing about the current update).
  Otherwise ``RecordAnswer`` (to IDLE) and the edge holds ``version``, the version it reports: the
  one it applied (ACK) or kept (NACK). An ACK forgets earlier refusals; a NACK of a delta makes
  the next update a full snapshot; a NACK of a full snapshot gives that version up.
- ``on_edge_done_sending()`` (IDLE, AWAITING_ANSWER): an update in flight is taken as held (to
  EDGE_SILENT); pushes go on.
- ``on_store_deleted()`` (IDLE, AWAITING_ANSWER, EDGE_SILENT): ``EndStream`` (to CLOSED).
- ``on_stream_closed(now_us)``, in any state: ``RecordDisconnected`` once when the connection was
  recorded, else nothing (to CLOSED).

The edge's claims about what it holds (hello, ACK, NACK) are taken as they are: a version the
cloud no longer holds, or never made, only means no delta can be made from it, so the shell sends
the full snapshot. Any other event, or one that breaks the last offer, is a bug in the shell:
``StreamStateError``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from cartads import bounds


class StreamPhase(enum.Enum):
    AWAITING_HELLO = "awaiting hello"
    SUBSCRIBING = "subscribing"
    IDLE = "idle"
    AWAITING_ANSWER = "awaiting answer"
    EDGE_SILENT = "edge silent"
    CLOSED = "closed"


class UpdateKind(enum.Enum):
    DELTA = "delta"
    FULL = "full"


class StreamStateError(Exception):
    """An event the stream's state does not allow: a bug in the shell, never the edge's doing."""


@dataclass(frozen=True)
class Reject:
    """End the stream as an invalid argument naming ``violations`` (field, why)."""

    violations: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Subscribe:
    """Check the edge may use ``store_id`` and that it exists, then watch it for changes."""

    store_id: str
    edge_id: str
    version: str


@dataclass(frozen=True)
class RecordConnected:
    """Record the edge as connected, holding ``version``."""

    store_id: str
    edge_id: str
    version: str
    now_us: int


@dataclass(frozen=True)
class SendUpdate:
    """Push ``version``: as a delta from ``base_version`` when one is worth it, else as a full snapshot.

    ``base_version`` is "" when only a full snapshot will do.
    """

    version: str
    base_version: str


@dataclass(frozen=True)
class RecordUpdateSent:
    """Record the update as sent; ``held_version`` is what the edge held when it went out."""

    store_id: str
    edge_id: str
    version: str
    nonce: str
    kind: UpdateKind
    held_version: str
    now_us: int


@dataclass(frozen=True)
class RecordAnswer:
    """Record the edge's answer: it holds ``version``; a NACK (``error`` set) refused ``refused_version``."""

    store_id: str
    edge_id: str
    version: str
    nonce: str
    error: str
    refused_version: str
    now_us: int

    @property
    def is_ack(self) -> bool:
        return not self.error


@dataclass(frozen=True)
class IgnoreStaleAnswer:
    """An answer to no update in flight: log it and change nothing."""

    nonce: str


@dataclass(frozen=True)
class EndStream:
    """The store is gone: end the stream as not found."""

    store_id: str


@dataclass(frozen=True)
class RecordDisconnected:
    """Record the edge as disconnected."""

    store_id: str
    edge_id: str
    now_us: int


@dataclass(frozen=True)
class InFlight:
    """The update sent and not yet answered."""

    nonce: str
    version: str
    kind: UpdateKind


def delta_worth_sending(delta_bytes: int, snapshot_bytes: int, chunk_bytes: int) -> bool:
    """True when a delta is under half the snapshot and fits one chunk; a bigger one saves nothing worth its risk."""
    return delta_bytes * 2 < snapshot_bytes and delta_bytes <= chunk_bytes


_SUBSCRIBED = (StreamPhase.IDLE, StreamPhase.AWAITING_ANSWER, StreamPhase.EDGE_SILENT)


class IndexStreamState:
    """One edge's index stream; see the module's docstring for its rules."""

    def __init__(self) -> None:
        self._phase = StreamPhase.AWAITING_HELLO
        self._store_id = ""
        self._edge_id = ""
        self._held_version = ""
        self._in_flight: InFlight | None = None
        self._offer: SendUpdate | None = None
        # The version whose full snapshot the edge refused; "" when none (an ACK forgets it).
        self._refused_version = ""
        # Set by a NACKed delta until the next ACK.
        self._full_only = False
        self._connection_recorded = False

    @property
    def phase(self) -> StreamPhase:
        return self._phase

    @property
    def store_id(self) -> str:
        return self._store_id

    @property
    def edge_id(self) -> str:
        return self._edge_id

    @property
    def held_version(self) -> str:
        """The version the edge is taken to hold ("" for none)."""
        return self._held_version

    @property
    def in_flight(self) -> InFlight | None:
        return self._in_flight

    def _require(self, event: str, *phases: StreamPhase) -> None:
        if self._phase not in phases:
            raise StreamStateError(f"{event} is not allowed while {self._phase.value}")

    def on_hello(self, store_id: str, edge_id: str, version: str) -> Reject | Subscribe:
        """The edge's first message: which store it serves, who it is, and the version it holds."""
        self._require("hello", StreamPhase.AWAITING_HELLO)
        violations = (
            *bounds.check_id(store_id, "store_id", required=True),
            *bounds.check_id(edge_id, "edge_id", required=True),
            *bounds.check_text(version, bounds.MAX_VERSION_CHARS, "version"),
        )
        if violations:
            self._phase = StreamPhase.CLOSED
            return Reject(violations)
        self._store_id, self._edge_id, self._held_version = store_id, edge_id, version
        self._phase = StreamPhase.SUBSCRIBING
        return Subscribe(store_id, edge_id, version)

    def on_subscribed(self, now_us: int) -> RecordConnected:
        """The shell accepted the subscription and watches the store."""
        self._require("subscribed", StreamPhase.SUBSCRIBING)
        self._phase = StreamPhase.IDLE
        self._connection_recorded = True
        return RecordConnected(self._store_id, self._edge_id, self._held_version, now_us)

    def on_version(self, version: str) -> SendUpdate | None:
        """``version`` is the store's current index: the update to push, if any."""
        self._require("a new version", *_SUBSCRIBED)
        self._offer = None
        if self._in_flight is not None or version in (self._held_version, self._refused_version):
            return None
        base = "" if self._full_only else self._held_version
        self._offer = SendUpdate(version, base)
        return self._offer

    def on_update_sent(self, version: str, nonce: str, kind: UpdateKind, now_us: int) -> RecordUpdateSent:
        """The offered update went out under ``nonce`` as ``kind``."""
        self._require("an update", *_SUBSCRIBED)
        offer, self._offer = self._offer, None
        if offer is None or offer.version != version:
            raise StreamStateError(f"version {version!r} was not offered")
        if kind is UpdateKind.DELTA and not offer.base_version:
            raise StreamStateError(f"version {version!r} was offered as a full snapshot only")
        if not nonce:
            raise StreamStateError("an update needs a nonce the edge can answer")
        sent = RecordUpdateSent(self._store_id, self._edge_id, version, nonce, kind, self._held_version, now_us)
        if self._phase is StreamPhase.EDGE_SILENT:
            self._held_version = version
        else:
            self._in_flight = InFlight(nonce, version, kind)
            self._phase = StreamPhase.AWAITING_ANSWER
        return sent

    def on_answer(self, version: str, nonce: str, error: str, now_us: int) -> RecordAnswer | IgnoreStaleAnswer | Reject:
        """The edge answered ``nonce``: holding ``version``, and refusing the update when ``error`` is set.

        An answer whose fields are out of bounds (they are stored in the edge's status) ends the stream.
        """
        self._require("an answer", StreamPhase.IDLE, StreamPhase.AWAITING_ANSWER)
        violations = (
            *bounds.check_text(version, bounds.MAX_VERSION_CHARS, "version"),
            *bounds.check_text(nonce, bounds.MAX_NONCE_CHARS, "response_nonce"),
            *bounds.check_text(error, bounds.MAX_ERROR_DETAIL_CHARS, "error_detail"),
        )
        if violations:
            self._phase = StreamPhase.CLOSED
            self._in_flight = self._offer = None
            return Reject(violations)
        pending = self._in_flight
        if pending is None or nonce != pending.nonce:
            return IgnoreStaleAnswer(nonce)
        self._in_flight = None
        self._phase = StreamPhase.IDLE
        self._held_version = version
        if not error:
            self._refused_version, self._full_only = "", False
        elif pending.kind is UpdateKind.DELTA:
            self._full_only = True
        else:
            self._refused_version = pending.version
        refused = pending.version if error else ""
        return RecordAnswer(self._store_id, self._edge_id, version, nonce, error, refused, now_us)

    def on_edge_done_sending(self) -> None:
        """The edge closed its side of the stream."""
        self._require("the edge's end of sending", StreamPhase.IDLE, StreamPhase.AWAITING_ANSWER)
        if self._in_flight is not None:
            self._held_version, self._in_flight = self._in_flight.version, None
        self._phase = StreamPhase.EDGE_SILENT

    def on_store_deleted(self) -> EndStream:
        """The store no longer exists."""
        self._require("the store's deletion", *_SUBSCRIBED)
        self._phase = StreamPhase.CLOSED
        self._in_flight = self._offer = None
        return EndStream(self._store_id)

    def on_stream_closed(self, now_us: int) -> RecordDisconnected | None:
        """The stream ended, for whatever reason."""
        self._phase = StreamPhase.CLOSED
        self._in_flight = self._offer = None
        if not self._connection_recorded:
            return None
        self._connection_recorded = False
        return RecordDisconnected(self._store_id, self._edge_id, now_us)
