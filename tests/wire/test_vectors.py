"""Every vector of protocol §20 decodes to exactly the expected CoreScope values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from meshlens.errors import DecodeError
from meshlens.wire import ChannelKey, ChannelKeys, RegionKeys, decode_hex
from meshlens.wire.json import (
    channel_hash_column,
    decoded_json_text,
    path_json,
    path_json_text,
    payload_json,
)
from tests.conftest import SHARED

VECTORS_FILE = SHARED / "spec" / "vectors.jsonl"
EXPECTED_COUNT = 124


def _load(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    with path.open() as lines:
        return [json.loads(line) for line in lines if line.strip()]


VECTORS = _load(VECTORS_FILE)


def _keys(vector: dict[str, Any]) -> ChannelKeys:
    """Exactly the vector's channel keys, without the built-in Public (§20)."""
    entries = (vector.get("channel_keys") or {}).items()
    return ChannelKeys(ChannelKey(name, bytes.fromhex(key)) for name, key in entries)


def _regions(vector: dict[str, Any]) -> RegionKeys:
    regions, warnings = RegionKeys.from_hex(vector.get("region_keys") or {})
    assert warnings == []
    return regions


def _ids(vector: dict[str, Any]) -> str:
    return str(vector["hex"][:24])


def test_vector_file_is_complete(shared_dir: Path) -> None:
    assert len(_load(shared_dir / "spec" / "vectors.jsonl")) == EXPECTED_COUNT


@pytest.mark.parametrize("vector", VECTORS, ids=_ids)
def test_vector_decodes_as_corescope(vector: dict[str, Any], shared_dir: Path) -> None:
    expect = vector["expect"]
    if expect.get("decode_error"):
        with pytest.raises(DecodeError) as raised:
            decode_hex(vector["hex"], _keys(vector), regions=_regions(vector))
        assert raised.value.reason.startswith(expect["error_kind"])
        return
    packet = decode_hex(vector["hex"], _keys(vector), regions=_regions(vector))
    assert packet.route_type == expect["route_type"]
    assert packet.route_type_name == expect["route_type_name"]
    assert packet.payload_type == expect["payload_type"]
    assert packet.payload_type_name == expect["payload_type_name"]
    assert packet.payload_version == expect["payload_version"]
    codes = expect["transport_codes"]
    assert packet.transport_codes == ((codes["code1"], codes["code2"]) if codes else None)
    assert path_json(packet) == expect["path"]
    assert path_json_text(packet) == expect["path_json"]
    assert list(packet.path_hops) == json.loads(expect["path_json"])
    assert len(packet.payload_bytes) == expect["payload_len"]
    assert packet.content_hash == expect["content_hash"]
    assert packet.legacy_hash == expect["legacy_hash_pre786"]
    assert packet.anomaly == expect.get("anomaly")
    payload = payload_json(packet)
    assert payload == expect["payload"]
    assert list(payload) == list(expect["payload"]), "field order of §4.13"
    assert json.loads(decoded_json_text(packet)) == expect["payload"]


@pytest.mark.parametrize("vector", VECTORS, ids=_ids)
def test_vector_ingest_facts(vector: dict[str, Any], shared_dir: Path) -> None:
    expect = vector["expect"]
    if expect.get("decode_error"):
        return
    ingest = expect["ingest"]
    packet = decode_hex(vector["hex"], _keys(vector), regions=_regions(vector))
    assert channel_hash_column(packet) == ingest.get("channel_hash_column")
    assert packet.is_transport_scoped == ingest.get("is_transport_scoped", False)
    assert packet.scope_name == ingest.get("scope_name")
    advert = packet.advert
    if advert is not None and advert.signature_valid is False:
        assert ingest["stored"] is False
        assert ingest["reason"].startswith("invalid signature")
        return
    assert ingest["stored"] is True
    assert (advert.public_key if advert else None) == ingest.get("from_pubkey")
    if "node_upsert" in ingest:
        assert advert is not None
        upsert = ingest["node_upsert"]
        assert advert.public_key == upsert["public_key"]
        assert advert.name == upsert["name"]
        assert advert.role == upsert["role"]
        assert (advert.lat, advert.lon) == (upsert["lat"], upsert["lon"])


def test_vectors_with_the_builtin_public_key_read_decryption_failed(shared_dir: Path) -> None:
    """§20: with Public loaded, six no_key vectors read decryption_failed instead."""
    changed = []
    for vector in VECTORS:
        if vector["expect"].get("decode_error"):
            continue
        bare = decode_hex(vector["hex"], _keys(vector))
        loaded = decode_hex(vector["hex"], _keys(vector).with_keys(ChannelKeys.public()))
        if payload_json(bare) != payload_json(loaded):
            changed.append(vector["hex"][:10])
            assert payload_json(loaded)["decryptionStatus"] == "decryption_failed"
            assert channel_hash_column(loaded) == channel_hash_column(bare)
    prefixes = ("14AABBCCDD", "15001ABC", "15001A90", "150115D9", "15001375", "14FA1A00")
    assert sorted(changed) == sorted(h for h in changed if h.startswith(prefixes))
    assert len(changed) == len(prefixes)
