"""POST /api/decode: the full decode of one hex frame, or a 400 that says why."""

from __future__ import annotations

import pytest

from tests.api.conftest import Serve
from tests.ingest.helpers import advert_frame


def test_decode_returns_header_path_and_payload(serve: Serve) -> None:
    frame = advert_frame(7, name="Hilltop", path=bytes([0xAB, 0xCD]))
    server = serve()
    with server.client() as http:
        response = http.post("/api/decode", json={"hex": frame.hex()})
    assert response.status_code == 200
    decoded = response.json()["decoded"]
    assert decoded["header"]["payloadTypeName"] == "ADVERT"
    assert decoded["path"]["hops"] == ["AB", "CD"]
    assert decoded["payload"]["name"] == "Hilltop"
    assert decoded["payload"]["signatureValid"] is True
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"not json", "bad_json"),
        (b'{"frame": "11"}', "missing_hex"),
        (b'["11"]', "missing_hex"),
        (b'{"hex": ""}', "missing_hex"),
        (b"{" + b" " * 70_000 + b"}", "too_large"),
    ],
)
def test_bad_bodies_answer_400_with_the_reason(serve: Serve, body: bytes, needle: str) -> None:
    server = serve()
    with server.client() as http:
        response = http.post("/api/decode", content=body)
    assert response.status_code == 400
    assert needle in response.json()["error"]


def test_an_undecodable_frame_answers_400_with_reason_and_offset(serve: Serve) -> None:
    server = serve()
    with server.client() as http:
        truncated = http.post("/api/decode", json={"hex": "11"})
        bad_hex = http.post("/api/decode", json={"hex": "0aZZ"})
    assert truncated.status_code == 400
    body = truncated.json()
    assert body["offset"] >= 0
    assert body["reason"] and body["reason"] in body["error"]
    assert bad_hex.status_code == 400
    assert bad_hex.json()["offset"] == 1
