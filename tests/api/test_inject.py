"""POST /api/packets: injection with the API key, answered per packet, hostile bodies refused."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from meshlens.config import Settings
from meshlens.config.secret import Secret
from meshlens.wire.channels import PUBLIC_KEY_HEX
from tests.api.conftest import Serve
from tests.api.running import Running, settings_for
from tests.ingest.helpers import advert_frame, channel_frame

KEY = "s3cret-key"
AUTH = {"X-API-Key": KEY}


def _frame(i: int) -> str:
    key = bytes.fromhex(PUBLIC_KEY_HEX)
    return channel_frame(key, f"injected {i}", timestamp=1_767_225_600 + i).hex()


@pytest.fixture(params=[True, False], ids=["pipeline process", "pipeline thread"])
def keyed(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """Settings with an API key configured; the pipeline in its process, or on a thread."""
    settings = settings_for(tmp_path, api_key=Secret(KEY))
    ingest = dataclasses.replace(settings.meshlens.ingest, pipeline_process=request.param)
    return dataclasses.replace(
        settings, meshlens=dataclasses.replace(settings.meshlens, ingest=ingest)
    )


def _ready(serve: Serve, settings: Settings) -> Running:
    server = serve(settings)
    server.wait_until(lambda: server.server.status.loaded)
    return server


def test_a_packet_is_stored_and_listed(serve: Serve, keyed: Settings) -> None:
    server = _ready(serve, keyed)
    frame = advert_frame(3, name="Injected", path=bytes([0x5A]))
    with server.client() as http:
        response = http.post(
            "/api/packets",
            json={"hex": frame.hex(), "observer": "OBSX", "snr": 6.5, "rssi": -98,
                  "region": "sea", "timestamp": "2026-01-01T00:00:30Z"},
            headers=AUTH,
        )  # fmt: skip
        listed = http.get("/api/packets").json()
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "stored" and body["new"] is True and body["index"] == 0
    assert body["decoded"]["payload"]["name"] == "Injected"
    snap = server.server.store.snapshot()
    row = snap.tx_row(body["hash"])
    assert row is not None and int(snap.tx.db_id[row]) == body["id"]
    obs = int(snap.obs.db_id.tolist().index(body["observation_id"]))
    assert float(snap.obs.snr_db[obs]) == 6.5 and float(snap.obs.rssi_dbm[obs]) == -98.0
    assert int(snap.obs.ts_ms[obs]) == 1_767_225_630_000
    assert snap.observer("OBSX") is not None and snap.observer("OBSX").iata == "SEA"  # type: ignore[union-attr]
    assert [p["hash"] for p in listed["packets"]] == [body["hash"]]
    assert listed["packets"][0]["observer_id"] == "OBSX"
    assert server.server.worker.counters.snapshot().stored_observations == 1
    process = server.server.pipeline_process
    with server.client() as http:
        status = http.get("/api/ingest/status").json()["pipelineProcess"]
    if keyed.meshlens.ingest.pipeline_process:
        assert process is not None and status == {"pid": process.pid, "restarts": 0}
    else:
        assert process is None and status is None


def test_the_same_sighting_twice_is_a_duplicate(serve: Serve, keyed: Settings) -> None:
    server = _ready(serve, keyed)
    packet = {"hex": _frame(1), "observer": "OBS1"}
    with server.client() as http:
        first = http.post("/api/packets", json=packet, headers=AUTH).json()
        again = http.post("/api/packets", json=packet, headers=AUTH).json()
        other = http.post("/api/packets", json={**packet, "observer": "OBS2"}, headers=AUTH)
    assert first["status"] == "stored"
    assert again["status"] == "duplicate" and again["hash"] == first["hash"]
    assert again["id"] == first["id"] and again["observation_id"] is None
    # Another observer hearing it is a new observation of the same transmission.
    assert other.json()["status"] == "stored" and other.json()["new"] is False
    assert len(server.server.store.snapshot().tx) == 1


def test_a_list_stores_the_good_and_explains_the_bad(serve: Serve, keyed: Settings) -> None:
    server = _ready(serve, keyed)
    packets: list[Any] = [
        {"hex": _frame(1), "observer": "A"},
        {"hex": _frame(2), "snr": "loud"},
        {"hex": "11", "observer": "A"},
        "not an object",
        {"hex": _frame(3), "observer": "B"},
    ]
    with server.client() as http:
        response = http.post("/api/packets", json=packets, headers=AUTH)
    assert response.status_code == 200
    body = response.json()
    results = body["results"]
    assert [r["status"] for r in results] == [
        "stored", "rejected", "rejected", "rejected", "stored"
    ]  # fmt: skip
    assert [r["index"] for r in results] == [0, 1, 2, 3, 4]
    assert results[1]["reason"] == "bad_type" and results[1]["where"] == "[1]snr"
    assert results[2]["reason"] == "decode_error" and results[2]["detail"]
    assert results[3]["where"] == "[3]"
    assert body["counts"] == {"stored": 2, "duplicate": 0, "rejected": 3}
    assert len(server.server.store.snapshot().tx) == 2
    rejected = server.server.worker.counters.snapshot().rejected
    assert rejected["bad_type"] == 1 and rejected["decode_error"] == 1


def test_no_key_or_a_wrong_key_is_401(serve: Serve, keyed: Settings) -> None:
    server = _ready(serve, keyed)
    with server.client() as http:
        missing = http.post("/api/packets", json={"hex": _frame(1)})
        wrong = http.post("/api/packets", json={"hex": _frame(1)}, headers={"X-API-Key": "nope"})
        prefix = http.post("/api/packets", json={"hex": _frame(1)}, headers={"X-API-Key": KEY[:-1]})
    assert missing.status_code == 401 and "missing X-API-Key" in missing.json()["error"]
    assert wrong.status_code == 401 and wrong.json()["error"] == "wrong API key"
    assert prefix.status_code == 401
    assert len(server.server.store.snapshot().tx) == 0


def test_disabled_without_a_key(serve: Serve, settings: Settings) -> None:
    server = _ready(serve, settings)
    with server.client() as http:
        response = http.post("/api/packets", json={"hex": _frame(1)}, headers=AUTH)
    assert response.status_code == 403
    assert "disabled" in response.json()["error"] and "apiKey" in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "reason", "where"),
    [
        (b"{not json", "bad_json", "request body"),
        (b'"a string"', "bad_body", "request body"),
        (b"[]", "empty", "request body"),
        (b'{"observer": "A"}', "missing_hex", "hex"),
        (b'{"hex": 17}', "bad_type", "hex"),
        (b'{"hex": "0aZZ"}', "bad_hex", "hex"),
        (b'{"hex": "11", "snr": true}', "bad_type", "snr"),
        (b'{"hex": "11", "rssi": "x"}', "bad_type", "rssi"),
        (b'{"hex": "11", "observer": 5}', "bad_type", "observer"),
        (b'{"hex": "11", "timestamp": "yesterday"}', "bad_value", "timestamp"),
        (b'{"hex": "11", "timestamp": 1e300}', "bad_value", "timestamp"),
        (b'{"hex": "11", "timestamp": -5}', "bad_value", "timestamp"),
        (b'{"hex": "11", "snr": 1e39}', "bad_value", "snr"),
        (b'{"hex": "11", "snr_db": 3}', "unknown_field", "snr_db"),
    ],
)
def test_a_malformed_body_is_400_naming_what_and_where(
    serve: Serve, keyed: Settings, body: bytes, reason: str, where: str
) -> None:
    server = _ready(serve, keyed)
    with server.client() as http:
        response = http.post("/api/packets", content=body, headers=AUTH)
    assert response.status_code == 400
    answer = response.json()
    assert answer["reason"] == reason and answer["where"] == where
    assert where in answer["error"]
    assert server.server.worker.counters.snapshot().rejected == {reason: 1}


def test_a_lone_undecodable_packet_is_400(serve: Serve, keyed: Settings) -> None:
    server = _ready(serve, keyed)
    with server.client() as http:
        response = http.post("/api/packets", json={"hex": "11"}, headers=AUTH)
    assert response.status_code == 400
    assert response.json()["reason"] == "decode_error"


def test_an_oversized_body_is_413(serve: Serve, keyed: Settings) -> None:
    server = _ready(serve, keyed)
    big = b'{"hex": "' + b"00" * (1 << 20) + b'"}'

    def chunks() -> Any:  # no Content-Length: the cap holds while streaming too
        yield big[: len(big) // 2]
        yield big[len(big) // 2 :]

    with server.client() as http:
        declared = http.post("/api/packets", content=big, headers=AUTH)
        streamed = http.post("/api/packets", content=chunks(), headers=AUTH)
        many = http.post("/api/packets", json=[{"hex": "11"}] * 1001, headers=AUTH)
    for response in (declared, streamed, many):
        assert response.status_code == 413
        assert response.json()["reason"] in ("too_large", "too_many")


def test_injected_packets_age_out_through_retention(serve: Serve, tmp_path: Path) -> None:
    """End to end: POST two packets, one heard three days ago; a pass prunes that one."""
    from meshlens.config.sections import RetentionSettings

    settings = settings_for(
        tmp_path, api_key=Secret(KEY), retention=RetentionSettings(packet_days=1)
    )
    server = _ready(serve, settings)
    now_s = server.server.clock.now_ms() / 1000
    with server.client() as http:
        posted = http.post(
            "/api/packets",
            json=[
                {"hex": _frame(1), "observer": "A", "timestamp": now_s - 3 * 86_400},
                {"hex": _frame(2), "observer": "A", "timestamp": now_s},
            ],
            headers=AUTH,
        ).json()["results"]
        report = server.server.retention.run_once()
        listed = [p["hash"] for p in http.get("/api/packets").json()["packets"]]
        metrics = http.get("/metrics").text
    assert report.transmissions == 1 and report.observations == 1
    assert listed == [posted[1]["hash"]]
    assert "meshlens_retention_transmissions_total 1.0" in metrics
    assert server.server.store.snapshot().tx_row(posted[0]["hash"]) is None
