"""Serial line settings as the command line gives them: PORT[,BAUD[,FRAMING]]."""

from __future__ import annotations

import pytest

from cart_client.devices.serial_scale import SerialLine


@pytest.mark.parametrize(
    ("text", "framing", "expected"),
    [
        ("/dev/ttyUSB0", "7E1", SerialLine("/dev/ttyUSB0", 9600, 7, "E", 1)),
        ("/dev/ttyUSB0,19200", "8N1", SerialLine("/dev/ttyUSB0", 19200, 8, "N", 1)),
        ("/dev/ttyS1,4800,7o2", "8N1", SerialLine("/dev/ttyS1", 4800, 7, "O", 2)),
    ],
)
def test_a_line_with_its_defaults(text: str, framing: str, expected: SerialLine) -> None:
    """Missing parts take 9600 baud and the device's default framing."""
    assert SerialLine.parse(text, framing) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "expected PORT"),
        ("/dev/ttyS1,fast", "bad baud rate"),
        ("/dev/ttyS1,9600,9X1", "bad framing"),
        ("/dev/ttyS1,9600,8N1,extra", "expected PORT"),
    ],
)
def test_a_bad_line_is_refused_with_a_reason(text: str, reason: str) -> None:
    """A wrong baud rate or framing is a clear error, not a port that never answers."""
    with pytest.raises(ValueError, match=reason):
        SerialLine.parse(text)


def test_the_cart_cli_takes_its_serial_devices() -> None:
    """--serial-scale defaults to the NCI scale's 7E1, --serial-scanner to the scanner's 8N1."""
    from cart_client.app.cli import build_parser

    args = build_parser().parse_args(
        ["--edge", "127.0.0.1:1", "--store", "s", "--serial-scale", "/dev/ttyUSB0", "--serial-scanner", "/dev/ttyACM0"]
    )
    assert args.serial_scale == SerialLine("/dev/ttyUSB0", 9600, 7, "E", 1)
    assert args.serial_scanner == SerialLine("/dev/ttyACM0", 9600, 8, "N", 1)


def test_the_cart_cli_refuses_a_bad_serial_line(capsys: pytest.CaptureFixture[str]) -> None:
    """A bad framing stops the cart at start, saying why."""
    from cart_client.app.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["--edge", "127.0.0.1:1", "--store", "s", "--serial-scale", "/dev/ttyUSB0,9600,7Q1"])
    assert "bad framing" in capsys.readouterr().err
