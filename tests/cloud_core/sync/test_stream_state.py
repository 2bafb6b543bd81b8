"""IndexStreamState's rules with plain values: hello, pushes, ACK/NACK by nonce, the edge's silence, the end."""

from __future__ import annotations

from cloud_core.sync.stream_state import (
    EndStream,
    IgnoreStaleAnswer,
    IndexStreamState,
    InFlight,
    RecordAnswer,
    RecordConnected,
    RecordDisconnected,
    RecordUpdateSent,
    Reject,
    SendUpdate,
    StreamPhase,
    Subscribe,
    UpdateKind,
    delta_worth_sending,
)

STORE, EDGE = "store-1", "edge-1"


def subscribed(held: str = "") -> IndexStreamState:
    """A machine past the hello and the subscription, the edge holding ``held``."""
    state = IndexStreamState()
    state.on_hello(STORE, EDGE, held)
    state.on_subscribed(now_us=1)
    return state


def sent(state: IndexStreamState, version: str, nonce: str, kind: UpdateKind = UpdateKind.FULL) -> None:
    """Offer ``version`` and report it sent under ``nonce``."""
    assert state.on_version(version) is not None
    state.on_update_sent(version, nonce, kind, now_us=2)


def held(state: IndexStreamState, version: str, nonce: str = "n-held") -> None:
    """Push ``version`` and have the edge ACK it."""
    sent(state, version, nonce)
    state.on_answer(version, nonce, "", now_us=3)


# ---- hello and subscription ----


def test_hello_without_store_id_is_rejected_naming_it() -> None:
    """A hello without store_id is a protocol violation naming store_id."""
    assert IndexStreamState().on_hello("", EDGE, "") == Reject((("store_id", "is required"),))


def test_hello_without_either_id_names_both() -> None:
    """A hello missing store_id and edge_id names both, store_id first."""
    decision = IndexStreamState().on_hello("", "", "v1")
    assert decision == Reject((("store_id", "is required"), ("edge_id", "is required")))


def test_rejected_hello_closes_the_stream() -> None:
    """After a rejected hello the stream is closed."""
    state = IndexStreamState()
    state.on_hello(STORE, "", "")
    assert state.phase is StreamPhase.CLOSED


def test_well_formed_hello_asks_to_subscribe() -> None:
    """A hello naming store and edge asks the shell to subscribe, with the version the edge holds."""
    state = IndexStreamState()
    assert state.on_hello(STORE, EDGE, "v1") == Subscribe(STORE, EDGE, "v1")
    assert state.phase is StreamPhase.SUBSCRIBING


def test_subscribed_records_the_connection_with_the_held_version() -> None:
    """Once subscribed, the connection is recorded with the hello's version and the given time."""
    state = IndexStreamState()
    state.on_hello(STORE, EDGE, "v1")
    assert state.on_subscribed(now_us=42) == RecordConnected(STORE, EDGE, "v1", 42)
    assert state.phase is StreamPhase.IDLE


# ---- what to push ----


def test_edge_holding_nothing_gets_a_full_snapshot() -> None:
    """An edge that holds no version is offered the current one as a full snapshot."""
    assert subscribed().on_version("v1") == SendUpdate("v1", "")


def test_edge_holding_an_older_version_gets_a_delta_offer() -> None:
    """An edge holding an older version is offered the current one from that base."""
    assert subscribed(held="v0").on_version("v1") == SendUpdate("v1", "v0")


def test_edge_holding_the_current_version_gets_nothing() -> None:
    """An edge whose hello names the current version is sent nothing."""
    assert subscribed(held="v1").on_version("v1") is None


def test_hello_claiming_an_unknown_version_is_taken_as_the_base() -> None:
    """A hello claiming a version the store never had is trusted as the base; the shell finds no delta."""
    state = subscribed(held="not-the-stores")
    assert state.on_version("v1") == SendUpdate("v1", "not-the-stores")
    state.on_update_sent("v1", "n1", UpdateKind.FULL, now_us=2)
    assert state.in_flight == InFlight("n1", "v1", UpdateKind.FULL)


def test_update_in_flight_blocks_the_next_push() -> None:
    """While an update is unanswered, a newer version is not offered."""
    state = subscribed()
    sent(state, "v1", "n1")
    assert state.on_version("v2") is None


def test_update_sent_is_recorded_with_nonce_kind_and_held_base() -> None:
    """Reporting the offer sent records its version, nonce, kind, the edge's held version and time."""
    state = subscribed(held="v0")
    state.on_version("v1")
    decision = state.on_update_sent("v1", "n1", UpdateKind.DELTA, now_us=7)
    assert decision == RecordUpdateSent(STORE, EDGE, "v1", "n1", UpdateKind.DELTA, "v0", 7)
    assert state.phase is StreamPhase.AWAITING_ANSWER


# ---- ACK ----


def test_ack_is_recorded_with_no_refusal() -> None:
    """An ACK of the in-flight nonce is recorded with its version, nonce, time and no refused version."""
    state = subscribed()
    sent(state, "v1", "n1")
    assert state.on_answer("v1", "n1", "", now_us=9) == RecordAnswer(STORE, EDGE, "v1", "n1", "", "", 9)


def test_ack_makes_the_edge_hold_the_version() -> None:
    """After an ACK the stream is idle and the acknowledged version is not sent again."""
    state = subscribed()
    held(state, "v1")
    assert state.phase is StreamPhase.IDLE
    assert state.on_version("v1") is None


def test_ack_lets_the_next_version_go_as_a_delta() -> None:
    """After an ACK the next version is offered from the acknowledged one."""
    state = subscribed()
    held(state, "v1")
    assert state.on_version("v2") == SendUpdate("v2", "v1")


def test_ack_for_an_unknown_nonce_is_stale() -> None:
    """An ACK naming a nonce never sent is ignored and the update stays in flight."""
    state = subscribed()
    sent(state, "v1", "n1")
    assert state.on_answer("v1", "n-unknown", "", now_us=3) == IgnoreStaleAnswer("n-unknown")
    assert state.in_flight == InFlight("n1", "v1", UpdateKind.FULL)


def test_duplicate_ack_is_stale() -> None:
    """A second ACK of an answered nonce is ignored and the held version stays."""
    state = subscribed()
    held(state, "v1", nonce="n1")
    assert state.on_answer("v0", "n1", "", now_us=4) == IgnoreStaleAnswer("n1")
    assert state.held_version == "v1"


def test_answer_without_a_nonce_is_stale() -> None:
    """An answer with an empty nonce is ignored even while an update is in flight."""
    state = subscribed()
    sent(state, "v1", "n1")
    assert state.on_answer("v1", "", "", now_us=3) == IgnoreStaleAnswer("")


def test_answer_when_nothing_was_sent_is_stale() -> None:
    """An answer while no update is in flight is ignored."""
    assert subscribed().on_answer("v1", "n1", "", now_us=3) == IgnoreStaleAnswer("n1")


def test_answer_to_a_superseded_update_is_stale() -> None:
    """An ACK naming an earlier update's nonce is ignored while a later update is in flight."""
    state = subscribed()
    held(state, "v1", nonce="n1")
    sent(state, "v2", "n2", UpdateKind.DELTA)
    assert state.on_answer("v1", "n1", "", now_us=4) == IgnoreStaleAnswer("n1")
    assert state.in_flight == InFlight("n2", "v2", UpdateKind.DELTA)


def test_ack_naming_another_version_is_trusted() -> None:
    """An ACK reporting a version other than the one sent leaves the edge holding what it reports."""
    state = subscribed()
    sent(state, "v1", "n1")
    state.on_answer("v-other", "n1", "", now_us=3)
    assert state.held_version == "v-other"


# ---- NACK ----


def test_nack_is_recorded_with_the_refused_version() -> None:
    """A NACK records the version the edge kept, the error and the in-flight version as refused."""
    state = subscribed(held="v0")
    sent(state, "v1", "n1", UpdateKind.DELTA)
    decision = state.on_answer("v0", "n1", "bad checksum", now_us=5)
    assert decision == RecordAnswer(STORE, EDGE, "v0", "n1", "bad checksum", "v1", 5)
    assert not decision.is_ack


def test_nack_leaves_the_edge_holding_what_it_kept() -> None:
    """After a NACK the edge is taken to hold the version it says it kept."""
    state = subscribed(held="v0")
    sent(state, "v1", "n1", UpdateKind.DELTA)
    state.on_answer("v0", "n1", "bad", now_us=5)
    assert state.held_version == "v0"
    assert state.phase is StreamPhase.IDLE


def test_nacked_delta_is_offered_again_as_a_full_snapshot() -> None:
    """After a NACKed delta the same version is offered again, as a full snapshot."""
    state = subscribed(held="v0")
    sent(state, "v1", "n1", UpdateKind.DELTA)
    state.on_answer("v0", "n1", "bad", now_us=5)
    assert state.on_version("v1") == SendUpdate("v1", "")


def test_full_only_lasts_until_the_next_ack() -> None:
    """After a NACKed delta every offer is full until an ACK; then deltas come back."""
    state = subscribed(held="v0")
    sent(state, "v1", "n1", UpdateKind.DELTA)
    state.on_answer("v0", "n1", "bad", now_us=5)
    held(state, "v1", nonce="n2")
    assert state.on_version("v2") == SendUpdate("v2", "v1")


def test_full_only_survives_a_new_version() -> None:
    """A version newer than the NACKed delta's is still offered as a full snapshot."""
    state = subscribed(held="v0")
    sent(state, "v1", "n1", UpdateKind.DELTA)
    state.on_answer("v0", "n1", "bad", now_us=5)
    assert state.on_version("v2") == SendUpdate("v2", "")


def test_nacked_full_snapshot_is_given_up() -> None:
    """A version whose full snapshot was NACKed is not offered again."""
    state = subscribed()
    sent(state, "v1", "n1")
    state.on_answer("", "n1", "too big", now_us=5)
    assert state.on_version("v1") is None


def test_new_version_after_a_refused_snapshot_is_offered() -> None:
    """After a NACKed full snapshot, a new version is offered again."""
    state = subscribed()
    sent(state, "v1", "n1")
    state.on_answer("", "n1", "too big", now_us=5)
    assert state.on_version("v2") == SendUpdate("v2", "")


def test_ack_forgets_a_refused_snapshot() -> None:
    """Once the edge ACKs another version, a version it once refused may be offered again."""
    state = subscribed()
    sent(state, "v1", "n1")
    state.on_answer("", "n1", "too big", now_us=5)
    held(state, "v2", nonce="n2")
    assert state.on_version("v1") == SendUpdate("v1", "v2")


def test_nack_of_an_update_never_sent_is_stale() -> None:
    """A NACK naming a nonce of no update sent is ignored: the update stays in flight, nothing is refused."""
    state = subscribed()
    sent(state, "v1", "n1")
    assert state.on_answer("", "n-never", "bad", now_us=5) == IgnoreStaleAnswer("n-never")
    assert state.in_flight == InFlight("n1", "v1", UpdateKind.FULL)


def test_nack_keeping_a_version_never_sent_is_trusted_as_the_base() -> None:
    """A NACK claiming to keep a version the cloud never sent makes that claim the next base."""
    state = subscribed()
    sent(state, "v1", "n1")
    state.on_answer("never-sent", "n1", "too big", now_us=5)
    assert state.on_version("v2") == SendUpdate("v2", "never-sent")


# ---- the edge's silence ----


def test_edge_done_sending_takes_the_update_in_flight_as_held() -> None:
    """When the edge stops sending, the unanswered update counts as held and is not resent."""
    state = subscribed()
    sent(state, "v1", "n1")
    state.on_edge_done_sending()
    assert state.phase is StreamPhase.EDGE_SILENT
    assert state.in_flight is None
    assert state.on_version("v1") is None


def test_silent_edge_still_gets_new_versions() -> None:
    """An edge that stopped sending is still offered a new version, from the one taken as held."""
    state = subscribed()
    sent(state, "v1", "n1")
    state.on_edge_done_sending()
    assert state.on_version("v2") == SendUpdate("v2", "v1")


def test_update_to_a_silent_edge_is_taken_as_held_at_once() -> None:
    """An update sent to an edge that cannot answer is held at once: the next version is not blocked."""
    state = subscribed()
    state.on_edge_done_sending()
    sent(state, "v1", "n1")
    assert state.in_flight is None
    assert state.on_version("v2") == SendUpdate("v2", "v1")


# ---- the end ----


def test_deleted_store_ends_the_stream() -> None:
    """A deleted store ends the stream as not found and closes it."""
    state = subscribed()
    assert state.on_store_deleted() == EndStream(STORE)
    assert state.phase is StreamPhase.CLOSED


def test_closing_a_connected_stream_records_the_disconnection() -> None:
    """A stream whose connection was recorded records its disconnection when it closes."""
    assert subscribed().on_stream_closed(now_us=8) == RecordDisconnected(STORE, EDGE, 8)


def test_closing_after_store_deletion_records_the_disconnection() -> None:
    """A stream ended by its store's deletion still records the disconnection."""
    state = subscribed()
    state.on_store_deleted()
    assert state.on_stream_closed(now_us=8) == RecordDisconnected(STORE, EDGE, 8)


def test_disconnection_is_recorded_once() -> None:
    """Closing a stream twice records its disconnection only the first time."""
    state = subscribed()
    state.on_stream_closed(now_us=8)
    assert state.on_stream_closed(now_us=9) is None


def test_closing_before_subscription_records_nothing() -> None:
    """A stream that ends before its connection was recorded (refused, unknown store) records nothing."""
    state = IndexStreamState()
    state.on_hello(STORE, EDGE, "")
    assert state.on_stream_closed(now_us=8) is None
    assert state.phase is StreamPhase.CLOSED


# ---- delta or snapshot ----


def test_small_delta_is_worth_sending() -> None:
    """A delta under half the snapshot and within a chunk is worth sending."""
    assert delta_worth_sending(delta_bytes=49, snapshot_bytes=100, chunk_bytes=64)


def test_delta_of_half_the_snapshot_is_not_worth_sending() -> None:
    """A delta of exactly half the snapshot's size is not worth sending."""
    assert not delta_worth_sending(delta_bytes=50, snapshot_bytes=100, chunk_bytes=64)


def test_delta_bigger_than_a_chunk_is_not_worth_sending() -> None:
    """A delta bigger than one chunk is not worth sending, however big the snapshot."""
    assert not delta_worth_sending(delta_bytes=65, snapshot_bytes=1_000, chunk_bytes=64)


def test_delta_of_exactly_one_chunk_is_worth_sending() -> None:
    """A delta exactly one chunk long still fits."""
    assert delta_worth_sending(delta_bytes=64, snapshot_bytes=1_000, chunk_bytes=64)
