"""Routing one MQTT message (protocol §2.3) and reading status messages (§11): pure."""

from __future__ import annotations

import orjson
import pytest

from meshlens.errors import InputError
from meshlens.ingest.messages import parse_topic
from meshlens.ingest.mqtt_receipt import Backoff
from meshlens.ingest.routing import Filtered, RoutingRules, route_message
from meshlens.ingest.status import ObserverStatus, read_status_message
from meshlens.ingest.status_rows import merge_status
from meshlens.records import Observer, ObserverId, Sighting
from tests.ingest.helpers import T0, advert_frame, packet_message, status_message

FRAME = advert_frame(1)


def route(topic: str, body: bytes, **rules: object) -> object:
    return route_message(topic, body, RoutingRules(**rules), received_at_ms=T0)  # type: ignore[arg-type]


def test_a_packet_message_becomes_a_sighting_stamped_with_its_receipt_time() -> None:
    s = route("meshcore/sea/OBS1/packets", packet_message(FRAME, snr="-7.25", rssi="-101dBm"))
    assert isinstance(s, Sighting)
    assert (s.raw, s.observer_id, s.region, s.received_at_ms) == (FRAME, "OBS1", "SEA", T0)
    assert (s.snr_db, s.rssi_dbm, s.score) == (-7.25, -101.0, 1000)


def test_rules_filter_in_the_reference_order() -> None:
    body = packet_message(FRAME)
    assert route("meshcore/status", body) == Filtered("ignored_topic")
    assert route("meshcore/SEA/Bad/packets", body, observer_blacklist=frozenset({"bad"})) == (
        Filtered("blacklisted")
    )
    assert route("meshcore/SEA/O/packets", body, iata_whitelist=frozenset({"PDX"})) == (
        Filtered("not_whitelisted")
    )
    assert route("meshcore/sea/O/packets", body, iata_filter=frozenset({"SEA"})) == (
        Filtered("iata_filter")  # exact match of the topic segment
    )
    # iataFilter applies to packets only; a status passes it.
    status = route("meshcore/LAX/O/status", status_message(), iata_filter=frozenset({"SEA"}))
    assert isinstance(status, ObserverStatus)


def test_the_source_region_fills_in_for_a_topic_without_one() -> None:
    s = route("meshcore//O/packets", packet_message(FRAME), region="pdx")
    assert isinstance(s, Sighting) and s.region == "PDX"


@pytest.mark.parametrize(
    ("topic", "body", "reason"),
    [
        ("meshcore/SEA/O/packets", b"{", "bad_json"),
        ("meshcore/SEA/O/packets", b"7", "not_an_object"),
        ("meshcore/SEA/O/packets", b"{}", "missing_raw"),
        ("meshcore/SEA/O/packets", b'{"raw": ["AB"]}', "bad_raw"),
        ("meshcore/SEA/O/packets", b'{"raw": "ABC"}', "bad_hex"),
        ("meshcore/SEA/O/packets", orjson.dumps({"raw": "00" * 600}), "oversized"),
        ("meshcore/SEA/O/packets", b" " * 20_000, "oversized"),
        ("meshcore/SEA/O/debug", b'{"msg": "x"}', "unknown_topic"),
        ("meshcore/SEA//status", b"{}", "missing_observer"),
    ],
)
def test_bad_messages_raise_a_typed_error_with_reason_and_place(
    topic: str, body: bytes, reason: str
) -> None:
    with pytest.raises(InputError) as err:
        route(topic, body)
    assert err.value.reason == reason
    assert err.value.where == f"topic {topic}"


def test_a_status_message_reads_metadata_and_stats_as_section_11_says() -> None:
    body = orjson.loads(status_message("Obs", repeat="off", firmware="old"))
    body["stats"]["recv_errors"] = "12"
    body["battery_mv"] = 1  # the nested value wins
    s = read_status_message(parse_topic("meshcore/sea/OBS1/status"), body, received_at_ms=T0)
    assert (s.observer_id, s.name, s.iata) == ("OBS1", "Obs", "SEA")
    assert (s.model, s.firmware, s.client_version) == (
        "Heltec V3", "1.12.0-test", "meshcoretomqtt/1.0.8.0"
    )  # fmt: skip
    assert (s.battery_mv, s.uptime_secs, s.noise_floor, s.recv_errors) == (4209, 75821, -109, 12)
    assert s.can_relay is False and s.has_meta


def test_a_status_keeps_what_it_does_not_say_and_counts_the_message() -> None:
    old = Observer(ObserverId("O"), "Name", "SEA", T0 - 10, T0 - 5, packet_count=3,
                   model="RAK", battery_mv=3900)  # fmt: skip
    bare = read_status_message(parse_topic("meshcore/SEA/O/status"), {}, received_at_ms=T0)
    merged = merge_status(old, bare)
    assert not bare.has_meta
    assert (merged.name, merged.model, merged.battery_mv) == ("Name", "RAK", 3900)
    assert (merged.packet_count, merged.last_seen_ms, merged.first_seen_ms) == (4, T0, T0 - 10)


def test_backoff_doubles_up_to_its_cap_and_resets() -> None:
    backoff = Backoff(0.25, 4.0)
    assert [backoff.next_s() for _ in range(7)] == [0.25, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    backoff.reset()
    assert backoff.next_s() == 0.25
