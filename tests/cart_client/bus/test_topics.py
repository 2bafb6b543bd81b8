"""The bus's topic tree and payloads: decoding, malformed messages, redeliveries."""

from __future__ import annotations

import re

import pytest

from cart_client.bus.mqtt import BusConfig
from cart_client.bus.topics import BusDecoder, BusError, CartTopics, Sensor, encode_event
from cart_client.sensors.trace import Checkout, ScaleReading, Scan, SensorEvent, Touch, Vision, Weight, Zone

TOPICS = CartTopics("store-1", "cart-7")


def test_each_sensor_has_its_topic_under_the_cart() -> None:
    """cartads/v1/{store}/{cart}/{sensor}, and the cart subscribes to its tree's sensors."""
    assert TOPICS.topic(Sensor.SCALE) == "cartads/v1/store-1/cart-7/scale"
    assert TOPICS.wildcard == "cartads/v1/store-1/cart-7/+"


@pytest.mark.parametrize(
    "event",
    [
        Scan("", 10, code="036000241457"),
        ScaleReading(1_204.5, 11),
        ScaleReading(880.0, 12, motion=True),
        Vision("24852", 0.93, 13),
        Zone("zone-24", 14),
        Touch("slot-1", 15, propensity=0.2),
        Touch("", 16, button="tare"),
        Checkout(17),
    ],
)
def test_an_event_crosses_the_bus_unchanged(event: SensorEvent) -> None:
    """What encode_event publishes, the cart's decoder reads back as the same event."""
    sensor, payload = encode_event(event, seq=3)
    assert BusDecoder(TOPICS).decode(TOPICS.topic(sensor), payload) == event


def test_checkout_is_the_touch_screens_button() -> None:
    """A checkout travels on the touch topic as the checkout button."""
    assert encode_event(Checkout(5)) == (Sensor.TOUCH, b'{"button":"checkout","t_ms":5}')


def test_a_scan_without_a_symbol_cannot_be_published() -> None:
    """A scanner sends symbols: a scan known only by product id has nothing to publish."""
    with pytest.raises(ValueError, match="needs its code"):
        encode_event(Scan("24852"))


def test_a_weight_change_is_not_a_bus_message() -> None:
    """The bus carries the load cell's raw readings; only the cart turns them into changes."""
    with pytest.raises(ValueError, match="raw readings"):
        encode_event(Weight(120.0))


@pytest.mark.parametrize(
    ("sensor", "payload", "reason"),
    [
        (Sensor.SCALE, b"\xff\xfe", "not UTF-8"),
        (Sensor.SCALE, b"{oops", "not valid JSON"),
        (Sensor.SCALE, b"[1]", "must be a JSON object"),
        (Sensor.SCALE, b'{"gross_g": "heavy"}', "'gross_g' must be a number"),
        (Sensor.SCANNER, b'{"product_id": "24852"}', "needs 'code'"),
        (Sensor.VISION, b'{"product_id": "1", "confidence": 2}', "within \\[0, 1\\]"),
        (Sensor.LOCATION, b'{"type": "scan", "zone_id": "z"}', "cannot carry type 'scan'"),
        (Sensor.TOUCH, b'{"slot_id": "slot-1", "seq": -1}', "'seq' must be a non-negative integer"),
    ],
)
def test_a_malformed_payload_is_reported_with_its_topic(sensor: Sensor, payload: bytes, reason: str) -> None:
    """Bad bytes become a BusError naming the topic and the problem, never an exception."""
    decoded = BusDecoder(TOPICS).decode(TOPICS.topic(sensor), payload)
    assert isinstance(decoded, BusError)
    assert decoded.topic == TOPICS.topic(sensor)
    assert re.search(reason, decoded.message)


@pytest.mark.parametrize("topic", ["cartads/v1/store-1/cart-8/scale", "cartads/v1/store-1/cart-7/smell"])
def test_a_topic_outside_the_carts_sensors_is_an_error(topic: str) -> None:
    """Another cart's topic, or an unknown sensor, is reported rather than applied."""
    assert isinstance(BusDecoder(TOPICS).decode(topic, b"{}"), BusError)


def test_a_redelivered_message_is_applied_once() -> None:
    """The same seq on the same sensor is a QoS 1 redelivery: the second copy decodes to None."""
    decoder = BusDecoder(TOPICS)
    sensor, payload = encode_event(Scan("", 1, code="036000241457"), seq=9)
    assert decoder.decode(TOPICS.topic(sensor), payload) is not None
    assert decoder.decode(TOPICS.topic(sensor), payload) is None
    assert decoder.duplicates == 1


def test_the_same_seq_on_another_sensor_is_a_new_message() -> None:
    """Sequence numbers count per sensor."""
    decoder = BusDecoder(TOPICS)
    for event in (Zone("z", 1), Vision("1", 0.9, 2)):
        sensor, payload = encode_event(event, seq=0)
        assert decoder.decode(TOPICS.topic(sensor), payload) == event


@pytest.mark.parametrize("bad", ["", "a/b", "c+", "#"])
def test_a_store_or_cart_id_that_is_no_topic_level_is_refused(bad: str) -> None:
    """Ids with MQTT's separators or wildcards would subscribe to other carts' topics."""
    with pytest.raises(ValueError, match="cannot be a topic level"):
        CartTopics("store-1", bad)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://127.0.0.1:1883", BusConfig()),
        ("mqtt://broker.local", BusConfig(host="broker.local")),
        ("mqtt://10.0.0.2:1884/store/bus", BusConfig(host="10.0.0.2", port=1884, prefix="store/bus")),
    ],
)
def test_the_bus_url(url: str, expected: BusConfig) -> None:
    """mqtt://HOST[:PORT][/PREFIX] with port 1883 and prefix cartads/v1 by default."""
    assert BusConfig.from_url(url) == expected


@pytest.mark.parametrize("url", ["http://127.0.0.1", "mqtt://", "mqtt://h:99999"])
def test_a_bad_bus_url_is_refused(url: str) -> None:
    """Only mqtt:// with a host and a valid port is a bus."""
    with pytest.raises(ValueError, match=r"mqtt://|bad port"):
        BusConfig.from_url(url)
