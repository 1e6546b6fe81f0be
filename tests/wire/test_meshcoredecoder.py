"""Differential test against meshcoredecoder 0.3.2 (PyPI), the field's Python decoder.

Both decoders read the same frames; every field they both produce must agree, or the
difference must be one of the named deviations below. Each deviation is checked, not just
tolerated: the test recomputes what meshcoredecoder's documented rule gives for the frame
and requires its output to equal that. docs/decoder.md lists them with their counts.
"""

from __future__ import annotations

import collections
import contextlib
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from meshcoredecoder import MeshCoreDecoder
from meshcoredecoder.crypto.key_manager import MeshCoreKeyStore
from meshcoredecoder.types.crypto import DecryptionOptions

from meshlens.errors import DecodeError
from meshlens.wire import (
    Advert,
    AnonRequest,
    ChannelKey,
    ChannelKeys,
    Control,
    Datagram,
    GroupMessage,
    InvalidPayload,
    Packet,
    Trace,
    decode_hex,
)
from meshlens.wire.crypto import derived_key
from meshlens.wire.text import is_readable_text
from tests.wire.strategies import HASHTAGS, relaxed, valid_frames

Facts = dict[str, Any]


# --- what each decoder says, in one comparable shape ----------------------------------


def their_facts(text: str, keys: Iterable[bytes]) -> Facts:
    """meshcoredecoder's reading of a frame (with signature verification)."""
    secrets = [key.hex() for key in keys]
    options = (
        DecryptionOptions(key_store=MeshCoreKeyStore({"channel_secrets": secrets}))
        if secrets
        else None
    )
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # it prints failed signature checks
            packet = MeshCoreDecoder.decode_with_verification(text, options)
    except Exception as error:  # it raises assorted errors on some corrupt frames
        return {"error": type(error).__name__}
    if not packet.is_valid:
        return {"error": "invalid"}
    codes = packet.transport_codes
    facts: Facts = {
        "header": (
            packet.route_type.value,
            packet.payload_type.value,
            packet.payload_version.value,
        ),
        "codes": tuple(c.to_bytes(2, "little").hex().upper() for c in codes) if codes else None,
        "path": (tuple(packet.path or ()), packet.path_hash_size or 1),
        "payload": packet.payload["raw"].lower(),
    }
    decoded = packet.payload.get("decoded")
    if decoded is not None:
        _their_payload(packet.payload_type.value, decoded, facts)
    return facts


def _their_payload(payload_type: int, p: Any, facts: Facts) -> None:
    if payload_type == 4 and p.public_key:  # an invalid signature also marks it invalid
        app = p.app_data
        location = app.get("location") or {}
        facts["advert"] = (
            p.public_key.lower(), p.timestamp, p.signature.lower(), p.signature_valid,
            app.get("flags"), location.get("latitude"), location.get("longitude"),
        )  # fmt: skip
        facts["name"] = app.get("name") or ""
    elif not p.is_valid:
        facts["invalid"] = True
    elif payload_type in (0, 1, 2, 8):
        facts["datagram"] = (p.destination_hash, p.source_hash, p.cipher_mac, p.ciphertext)
    elif payload_type == 7:
        facts["anon"] = (p.destination_hash, p.sender_public_key, p.cipher_mac, p.ciphertext)
    elif payload_type == 3:
        facts["ack"] = p.checksum.upper()
    elif payload_type in (5, 6):
        facts["group"] = (int(p.channel_hash, 16), p.cipher_mac.lower(), p.ciphertext.lower())
        facts["decrypted"] = bool(p.decrypted)
        if payload_type == 5 and p.decrypted:
            d = p.decrypted
            facts["text"] = (d["timestamp"], d["sender"] or "", d["message"])
    elif payload_type == 9:
        facts["trace"] = (int(p.trace_tag, 16), p.auth_code, p.flags)
        facts["route"] = tuple(p.path_hashes)
        facts["snr"] = tuple(p.snr_values or ())
    elif payload_type == 11:
        parsed = p.parsed
        snr = parsed.get("snr_db")
        facts["control"] = (
            p.flags, parsed.get("sub_type_name", "UNKNOWN"), parsed.get("type_filter"),
            parsed.get("tag"), parsed.get("since"), parsed.get("node_type"),
            round(snr * 4) if snr is not None else None, (parsed.get("pubkey") or "").lower(),
        )  # fmt: skip


def our_facts(text: str, keys: Iterable[bytes]) -> tuple[Facts, Packet | None]:
    """meshlens' reading of a frame, in the same shape."""
    channel_keys = ChannelKeys(ChannelKey(f"k{i}", key) for i, key in enumerate(keys))
    try:
        packet = decode_hex(text, channel_keys)
    except DecodeError as error:
        return {"error": error.reason}, None
    hops = tuple(_split(packet.header_path.hex().upper(), 2 * packet.hash_size))
    facts: Facts = {
        "header": (packet.route_type, packet.payload_type, packet.payload_version),
        "codes": packet.transport_codes,
        "path": (hops, packet.hash_size),
        "payload": packet.payload_bytes.hex(),
    }
    p = packet.payload
    if isinstance(p, InvalidPayload):
        facts["invalid"] = True
    elif isinstance(p, Advert):
        facts["advert"] = (
            p.public_key, p.timestamp, p.signature.hex(), p.signature_valid, p.flags, p.lat, p.lon,
        )  # fmt: skip
        facts["name"] = p.name
    elif isinstance(p, Datagram):
        facts["datagram"] = (f"{p.dest_hash:02X}", f"{p.src_hash:02X}", p.mac.hex().upper(),
                             p.ciphertext.hex().upper())  # fmt: skip
    elif isinstance(p, AnonRequest):
        facts["anon"] = (f"{p.dest_hash:02X}", p.ephemeral_public_key.hex().upper(),
                         p.mac.hex().upper(), p.ciphertext.hex().upper())  # fmt: skip
    elif packet.payload_type == 3:
        facts["ack"] = packet.payload_bytes[:4].hex().upper()
    elif isinstance(p, GroupMessage):
        facts["group"] = (p.channel_hash, p.mac.hex(), p.ciphertext.hex())
        facts["decrypted"] = p.decryption_status == "decrypted"
        if p.decryption_status == "decrypted" and not p.is_data:
            message = p.text[len(p.sender) + 2 :] if p.sender else p.text
            facts["text"] = (p.sender_timestamp, p.sender, message)
    elif isinstance(p, Trace):
        facts["trace"] = (p.tag, p.auth_code, p.flags)
        facts["route"] = packet.path_hops if p.route else ()
        facts["snr"] = p.snr_db
    elif isinstance(p, Control):
        facts["control"] = (p.flags, p.subtype, p.filter, p.tag, p.since, p.node_type, p.snr_raw,
                            p.public_key.hex() if p.public_key else "")  # fmt: skip
    return facts, packet


def _split(text: str, width: int) -> list[str]:
    return [text[i : i + width] for i in range(0, len(text), width)]


# --- the known deviations, each verified against meshcoredecoder's own rule ------------


@dataclass(frozen=True)
class Frame:
    """One frame as both decoders saw it."""

    raw: bytes
    ours: Facts
    theirs: Facts
    packet: Packet | None
    keys: tuple[ChannelKey, ...]


@dataclass(frozen=True)
class Deviation:
    """A documented difference: the fact keys it explains and a check that it applies."""

    name: str
    reason: str
    keys: frozenset[str]
    applies: Callable[[Frame], bool]


def _legacy_path(frame: Frame) -> bool:
    reason = frame.ours.get("error")
    if reason not in ("invalid path encoding", "path exceeds buffer") or "error" in frame.theirs:
        return False
    at = 5 if frame.raw[0] & 3 in (0, 3) else 1
    path_byte, room = frame.raw[at], len(frame.raw) - at - 1
    size, count = (path_byte >> 6) + 1, path_byte & 0x3F
    if size < 4 and size * count <= room:
        # Over 64 bytes but inside the frame: read as declared, without the 64-byte cap.
        declared = frame.raw[at + 1 : at + 1 + size * count].hex().upper()
        return bool(frame.theirs["path"] == (tuple(_split(declared, 2 * size)), size))
    # Hash-size code 3, or past the frame: the byte is re-read as a 1-byte hop count.
    hops = min(path_byte, room, 64)
    expected = tuple(f"{b:02X}" for b in frame.raw[at + 1 : at + 1 + hops])
    return bool(frame.theirs["path"] == (expected, 1))


def _no_payload_cap(frame: Frame) -> bool:
    reason = str(frame.ours.get("error", ""))
    return reason.startswith("payload exceeds") and "error" not in frame.theirs


def _their_name(app: bytes) -> str:
    """meshcoredecoder's advert name: its own field walk, Python decoding, strip, no cap."""
    flags, at = app[0], 1
    if flags & 0x10 and len(app) >= at + 8:
        at += 8
    if flags & 0x20 and len(app) >= at + 2:
        at += 2
    if flags & 0x40:
        at += 2
    if not flags & 0x80 or len(app) <= at:
        return ""
    raw = app[at:].decode("utf-8", "replace").split("\0")[0]
    cleaned = "".join(c for c in raw.strip() if not (ord(c) < 0x20 or c == "\x7f"))
    return cleaned or raw


def _advert_name(frame: Frame) -> bool:
    advert = frame.packet.advert if frame.packet else None
    return (
        advert is not None
        and bool(advert.appdata)
        and frame.theirs["name"] == _their_name(advert.appdata)
    )


def _control_gates(frame: Frame) -> bool:
    p = frame.packet.payload if frame.packet else None
    if not isinstance(p, Control):
        return False
    n, data = len(p.data), p.data

    def u32(at: int) -> int:
        return int.from_bytes(data[at : at + 4], "little")

    expected: tuple[Any, ...] = (p.flags, "UNKNOWN", None, None, None, None, None, "")
    if p.subtype == "DISCOVER_REQ" and n >= 6:
        expected = (p.flags, "DISCOVER_REQ", data[1], u32(2) if n >= 10 else None,
                    u32(6) if n >= 14 else None, None, None, "")  # fmt: skip
    elif p.subtype == "DISCOVER_RESP" and n >= 7:
        key = data[6:38] if n >= 39 else data[6:14] if n >= 15 else b""
        expected = (p.flags, "DISCOVER_RESP", None, u32(2), None, p.flags & 0x0F, p.snr_raw,
                    key.hex())  # fmt: skip
    return bool(frame.theirs["control"] == expected)


def _trace_route(frame: Frame) -> bool:
    p = frame.packet.payload if frame.packet else None
    return isinstance(p, Trace) and frame.theirs["route"] == tuple(f"{b:02X}" for b in p.route)


def _trace_snr(frame: Frame) -> bool:
    if frame.packet is None:
        return False
    hops = _split(frame.packet.header_path.hex().upper(), 2 * frame.packet.hash_size)
    signed = [(v - 256 if v > 127 else v) for v in (int(h, 16) for h in hops)]
    return bool(frame.theirs["snr"] == tuple(v / 4 for v in signed))


def _multipart(frame: Frame) -> bool:
    packet = frame.packet
    return packet is not None and packet.payload_type == 0x0A and "invalid" not in frame.theirs


def _text_checks(frame: Frame) -> bool:
    """We refused a MAC-valid plaintext for the §4.4 text checks; they took it."""
    p = frame.packet.payload if frame.packet else None
    if not isinstance(p, GroupMessage) or p.decryption_status != "decryption_failed":
        return False
    for key in frame.keys:
        plaintext = key.cipher.open(p.mac, p.ciphertext)
        if plaintext is not None:
            body = plaintext[5:].split(b"\0")[0]
            try:
                return len(plaintext) < 5 or not is_readable_text(body.decode())
            except UnicodeDecodeError:
                return True
    return False


def _sender_index(frame: Frame) -> bool:
    """They look for ": " by character index (< 50), we by UTF-8 byte index, as CoreScope."""
    ours, theirs = frame.ours.get("text"), frame.theirs.get("text")
    if ours is None or theirs is None:
        return False
    whole = f"{ours[1]}: {ours[2]}" if ours[1] else ours[2]
    split = whole.find(": ")
    return (
        0 < split < 50 <= len(whole[:split].encode()) or len(whole[:split].encode()) < 50 <= split
    )


DEVIATIONS = (
    Deviation("path_validation", "accepts paths over 64 bytes, and re-reads a path byte with "
              "hash-size code 3 or running past the frame as a pre-1.12 hop count",
              frozenset({"error", "header", "codes", "path", "payload", "invalid", "advert",
                         "name", "datagram", "anon", "ack", "group", "decrypted", "text", "trace",
                         "route", "snr", "control"}), _legacy_path),
    Deviation("no_payload_limit", "accepts payloads over MAX_PACKET_PAYLOAD (184)",
              frozenset({"error", "header", "codes", "path", "payload", "invalid", "advert",
                         "name", "datagram", "anon", "ack", "group", "decrypted", "text", "trace",
                         "route", "snr", "control"}), _no_payload_cap),
    Deviation("advert_name_rules", "Python 'replace' decoding, strips whitespace, drops TAB/LF, "
              "no 32-byte cap", frozenset({"name"}), _advert_name),
    Deviation("control_length_gates", "DISCOVER fields need one more byte than the firmware "
              "sends", frozenset({"control"}), _control_gates),
    Deviation("trace_route_width", "splits the TRACE route into 1-byte hops whatever the flags",
              frozenset({"route"}), _trace_route),
    Deviation("trace_snr_scope", "reads SNRs from every header path, even without a route or "
              "with multi-byte hops", frozenset({"snr"}), _trace_snr),
    Deviation("multipart_undecoded", "has no MULTIPART decoder, so no 'too short'",
              frozenset({"invalid"}), _multipart),
    Deviation("group_text_checks", "accepts plaintext that fails CoreScope's UTF-8 and "
              "printable-text checks", frozenset({"decrypted", "text"}), _text_checks),
    Deviation("sender_split_index", "finds the sender separator by character, not byte, index",
              frozenset({"text"}), _sender_index),
)  # fmt: skip

KEYS = tuple(ChannelKey.hashtag(name) for name in HASHTAGS) + tuple(ChannelKeys.public())


def explain(text: str, keys: Iterable[ChannelKey] = KEYS) -> list[str]:
    """Names of the deviations that explain every disagreement on one frame; raises if none."""
    keys = tuple(keys)
    key_bytes = [key.key for key in keys]
    theirs = their_facts(text, key_bytes)
    ours, packet = our_facts(text, key_bytes)
    differing = {k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k)}
    if "error" in ours and "error" in theirs:
        differing.discard("error")  # both refuse the frame; the wording is theirs
    if not differing:
        return []
    frame = Frame(bytes.fromhex(text.replace(" ", "")), ours, theirs, packet, keys)
    used = [d for d in DEVIATIONS if d.keys & differing and d.applies(frame)]
    unexplained = differing - set().union(*(d.keys for d in used))
    assert not unexplained, (text, {k: (ours.get(k), theirs.get(k)) for k in unexplained})
    return [d.name for d in used]


# --- the three corpora -----------------------------------------------------------------


def _lines(path: Path) -> list[dict[str, Any]]:
    with path.open() as lines:
        return [json.loads(line) for line in lines if line.strip()]


def test_vectors_agree_or_deviate_as_documented(shared_dir: Path) -> None:
    seen: collections.Counter[str] = collections.Counter()
    for vector in _lines(shared_dir / "spec" / "vectors.jsonl"):
        keys = [
            ChannelKey(n, bytes.fromhex(k)) for n, k in (vector.get("channel_keys") or {}).items()
        ]
        seen.update(explain(vector["hex"], keys))
    assert seen == {
        "path_validation": 3,
        "no_payload_limit": 1,
        "advert_name_rules": 1,
        "control_length_gates": 7,
        "trace_route_width": 1,
    }


def test_real_packets_agree_or_deviate_as_documented(shared_dir: Path) -> None:
    seen: collections.Counter[str] = collections.Counter()
    rows = _lines(shared_dir / "realdata" / "packets.jsonl")
    for row in rows:
        seen.update(explain(row["hex"]))
    assert len(rows) > 7000
    assert seen == {
        "path_validation": 9,
        "advert_name_rules": 81,
        "control_length_gates": 19,
        "trace_route_width": 2,
    }


@relaxed(300)
@given(valid_frames())
def test_generated_frames_agree_or_deviate_as_documented(raw: bytes) -> None:
    explain(raw.hex().upper())


@pytest.mark.parametrize(
    ("text", "deviation"),
    [
        ("1200" + "00" * 185, "no_payload_limit"),
        ("2E0080040102030405", "control_length_gates"),
        ("2601AA" + "0100000000000000" + "03" + "C0DE", "trace_route_width"),
        ("2602AABB" + "010000000000000000", "trace_snr_scope"),
        ("2A00", "multipart_undecoded"),
    ],
)
def test_each_deviation_is_recognised(text: str, deviation: str) -> None:
    assert deviation in explain(text)


def test_sender_split_by_bytes_not_characters() -> None:
    from meshlens.wire.encode import group_text_payload

    sender = "é" * 30  # 30 characters, 60 bytes
    payload = group_text_payload(derived_key("#test"), timestamp=1, text=f"{sender}: hi")
    assert "sender_split_index" in explain("1500" + payload.hex())


def test_garbage_plaintext_is_refused_here_and_taken_there() -> None:
    key = ChannelKey.hashtag("#test")
    mac, ciphertext = key.cipher.seal(b"\x01\x00\x00\x00\x00" + b"\xff\xfe\x01\x02\x03")
    payload = bytes((key.channel_hash,)) + mac + ciphertext
    assert "group_text_checks" in explain("1500" + payload.hex())
