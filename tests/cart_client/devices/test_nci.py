"""The NCI scale protocol codec: answers parsed to weights and status, and refused with a reason."""

from __future__ import annotations

import pytest

from cart_client.devices.nci import NciError, NciStatus, encode_answer, encode_status, parse_answer


@pytest.mark.parametrize(
    ("frame", "grams", "unit"),
    [
        (b"\n0001.25kg\r\n00\r\x03", 1250.0, "kg"),
        (b"\n  12.50lb\r\n00\r\x03", 5669.904625, "lb"),
        (b"\n   8.0oz\r\n00\r\x03", 226.796185, "oz"),
        (b"\n   450g\r\n00\r\x03", 450.0, "g"),
        (b"\n- 0.120kg\r\n00\r\x03", -120.0, "kg"),
    ],
)
def test_a_weight_answer_in_each_unit(frame: bytes, grams: float, unit: str) -> None:
    """W's answer gives the weight in grams whatever unit the scale shows, minus sign included."""
    answer = parse_answer(frame)
    assert answer.weight_g == pytest.approx(grams)
    assert answer.unit == unit


@pytest.mark.parametrize(
    ("status", "field"),
    [
        (b"10", "motion"),
        (b"20", "at_zero"),
        (b"40", "ram_error"),
        (b"80", "eeprom_error"),
        (b"01", "under_capacity"),
        (b"02", "over_capacity"),
        (b"04", "rom_error"),
        (b"08", "calibration_error"),
        (b"0p4", "net"),
    ],
)
def test_each_status_bit(status: bytes, field: str) -> None:
    """Each status bit of the two (or three) bytes reads as its own flag, and only that one."""
    parsed = parse_answer(b"\n" + status + b"\r\x03").status
    assert {name for name in NciStatus.__slots__ if getattr(parsed, name)} == {field}


def test_status_survives_a_round_trip() -> None:
    """What encode_answer writes, parse_answer reads back, parity bit or not."""
    status = NciStatus(motion=True, at_zero=False, net=True)
    frame = encode_answer(status, 0.612, "kg")
    assert parse_answer(frame).status == status
    with_parity = bytes(b | 0x80 if bin(b).count("1") % 2 else b for b in frame)
    assert parse_answer(with_parity).weight_g == pytest.approx(612.0)


def test_over_capacity_has_no_weight_and_names_the_fault() -> None:
    """A scale that cannot weigh answers no number; its status says why."""
    answer = parse_answer(encode_answer(NciStatus(over_capacity=True), 0.0))
    assert answer.weight_g is None
    assert answer.status.fault == "over capacity"


def test_two_status_bytes_by_default() -> None:
    """Gross weight: two status bytes, bits 4 and 5 always set."""
    assert encode_status(NciStatus(motion=True)) == b"10"


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"\n?\r\x03", "did not recognise"),
        (b"\n0001.25kg\r\n00\r", "not an NCI answer"),
        (b"0001.25kg\r\n00\r\x03", "not an NCI answer"),
        (b"\n0001.25kg\r\n0\r\x03", "bad status bytes"),
        (b"\n0001.25kg\r\n\x01\x02\r\x03", "bad status bytes"),
        (b"\n0001.25kg\r\n@0\r\x03", "bad status bytes"),
        (b"\n0001.25kg\r\n0p\r\x03", "disagrees with their count"),
        (b"\nABCDEFkg\r\n00\r\x03", "unreadable weight"),
        (b"\n0001.25st\r\n00\r\x03", "unreadable weight"),
    ],
)
def test_bad_answers_are_refused_with_a_reason(frame: bytes, reason: str) -> None:
    """A truncated, garbled or refused answer raises NciError saying what is wrong."""
    with pytest.raises(NciError, match=reason):
        parse_answer(frame)
