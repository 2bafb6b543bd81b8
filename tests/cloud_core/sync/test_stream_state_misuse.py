"""IndexStreamState refuses events its state does not allow: a misuse by the shell raises StreamStateError."""

from __future__ import annotations

import pytest

from cloud_core.sync.stream_state import IndexStreamState, StreamStateError, UpdateKind

STORE, EDGE = "store-1", "edge-1"


def subscribed(held: str = "") -> IndexStreamState:
    """A machine past the hello and the subscription, the edge holding ``held``."""
    state = IndexStreamState()
    state.on_hello(STORE, EDGE, held)
    state.on_subscribed(now_us=1)
    return state


def test_second_hello_is_a_shell_error() -> None:
    """Feeding a hello twice raises StreamStateError (later messages are answers)."""
    state = subscribed()
    with pytest.raises(StreamStateError):
        state.on_hello(STORE, EDGE, "")


def test_version_before_subscription_is_a_shell_error() -> None:
    """Offering a version before the subscription raises StreamStateError."""
    state = IndexStreamState()
    state.on_hello(STORE, EDGE, "")
    with pytest.raises(StreamStateError):
        state.on_version("v1")


def test_answer_before_hello_is_a_shell_error() -> None:
    """Feeding an answer before the hello raises StreamStateError."""
    with pytest.raises(StreamStateError):
        IndexStreamState().on_answer("v1", "n1", "", now_us=1)


def test_update_sent_without_an_offer_is_a_shell_error() -> None:
    """Reporting an update sent that was never offered raises StreamStateError."""
    with pytest.raises(StreamStateError):
        subscribed().on_update_sent("v1", "n1", UpdateKind.FULL, now_us=2)


def test_update_sent_for_another_version_is_a_shell_error() -> None:
    """Reporting a version other than the one offered raises StreamStateError."""
    state = subscribed()
    state.on_version("v1")
    with pytest.raises(StreamStateError):
        state.on_update_sent("v2", "n1", UpdateKind.FULL, now_us=2)


def test_delta_where_only_a_snapshot_was_offered_is_a_shell_error() -> None:
    """Sending a delta when the offer had no base raises StreamStateError."""
    state = subscribed()
    state.on_version("v1")
    with pytest.raises(StreamStateError):
        state.on_update_sent("v1", "n1", UpdateKind.DELTA, now_us=2)


def test_update_without_a_nonce_is_a_shell_error() -> None:
    """An update sent with an empty nonce raises StreamStateError: no answer could name it."""
    state = subscribed()
    state.on_version("v1")
    with pytest.raises(StreamStateError):
        state.on_update_sent("v1", "", UpdateKind.FULL, now_us=2)


def test_offer_is_withdrawn_by_the_next_version_check() -> None:
    """An offer not sent before the next version check cannot be reported sent afterwards."""
    state = subscribed(held="v1")
    state.on_version("v2")
    state.on_version("v1")
    with pytest.raises(StreamStateError):
        state.on_update_sent("v2", "n1", UpdateKind.FULL, now_us=2)


def test_answer_after_the_edge_is_done_sending_is_a_shell_error() -> None:
    """Feeding an answer after the edge's end of sending raises StreamStateError."""
    state = subscribed()
    state.on_edge_done_sending()
    with pytest.raises(StreamStateError):
        state.on_answer("v1", "n1", "", now_us=3)


def test_nothing_is_offered_after_the_stream_closed() -> None:
    """Offering a version after the store was deleted raises StreamStateError."""
    state = subscribed()
    state.on_store_deleted()
    with pytest.raises(StreamStateError):
        state.on_version("v1")
