"""Channel keys and channel messages: loading rules, decryption, text checks (protocol §4.4)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from meshlens.wire import ChannelKey, ChannelKeys, GroupMessage, InvalidPayload, decode_packet
from meshlens.wire.crypto import GroupCipher, channel_hash
from meshlens.wire.json import channel_hash_column, payload_json

PUBLIC = bytes.fromhex("8b3387e9c5cdea6ac9e5edbaa115cd72")
TEST = bytes.fromhex("9cd8fcf22a47333b591d96a2b848b73f")


def _seal(key: bytes, plaintext: bytes) -> bytes:
    """Encrypt like the firmware, independently of meshlens: AES-ECB zero pad, 2-byte HMAC."""
    padded = plaintext + bytes(-len(plaintext) % 16)
    ciphertext = Cipher(algorithms.AES(key), modes.ECB()).encryptor().update(padded)
    mac = hmac.new(key + bytes(16), ciphertext, hashlib.sha256).digest()[:2]
    return bytes((hashlib.sha256(key).digest()[0],)) + mac + ciphertext


def _text(body: bytes, timestamp: int = 1700000000) -> bytes:
    return struct.pack("<I", timestamp) + b"\x00" + body


def _message(payload: bytes, keys: ChannelKeys | None, header: int = 0x15) -> GroupMessage:
    message = decode_packet(bytes((header, 0)) + payload, keys).channel_message
    assert message is not None
    return message


@pytest.mark.parametrize(
    ("name", "key"),
    [("#test", "9cd8fcf22a47333b591d96a2b848b73f"),
     ("#General", "649af2cab73ed5a890890a5485a0c004"),
     ("#MeshCore", "dcf73f393fa217f6b28fcec6ffc411ad"),
     ("#LongFast", "2cc3d22840e086105ad73443da2cacb8"),
     ("#bot", "eb50a1bcb3e4e5d7bf69a57c9dada211"),
     ("bot", "eb50a1bcb3e4e5d7bf69a57c9dada211")],
)  # fmt: skip
def test_hashtag_keys_are_sha256_of_the_name_with_hash(name: str, key: str) -> None:
    assert ChannelKey.hashtag(name).key.hex() == key


def test_public_key_announces_hash_0x11() -> None:
    assert channel_hash(PUBLIC) == 0x11
    public = ChannelKeys.public().get("Public")
    assert public is not None and public.channel_hash == 0x11


def test_build_loads_sources_in_reference_order() -> None:
    keys, warnings = ChannelKeys.build(
        rainbow={"#test": "00" * 16, "Public": "11" * 16, "bad": "zz", "short": "00" * 8},
        hash_channels=[" test ", "#bot", "  "],
        explicit={"#bot": "22" * 16, "public": "33" * 16, "Mine": TEST.hex()},
    )
    assert {k.label: k.key.hex() for k in keys} == {
        "Public": "11" * 16,  # rainbow overrides the built-in
        "#test": TEST.hex(),  # hashChannels overrides the rainbow
        "#bot": "22" * 16,  # explicit wins, and hashChannels skips names it has
        "Mine": TEST.hex(),
    }
    assert len(warnings) == 4  # bad hex, wrong length, empty hashtag, lowercase public
    assert any("'public'" in w for w in warnings)


def test_explicit_public_spelled_exactly_replaces_the_builtin() -> None:
    keys, warnings = ChannelKeys.build(explicit={"Public": TEST.hex()})
    public = keys.get("Public")
    assert public is not None and public.key == TEST
    assert warnings == []


def test_build_without_sources_has_only_public() -> None:
    keys, warnings = ChannelKeys.build()
    assert [k.label for k in keys] == ["Public"]
    assert warnings == []


def test_keys_are_looked_up_by_channel_hash() -> None:
    keys = ChannelKeys([ChannelKey("#test", TEST)]).with_keys(ChannelKeys.public())
    assert [k.label for k in keys.for_hash(channel_hash(TEST))] == ["#test"]
    assert keys.for_hash(0x11)[0].label == "Public"
    assert keys.for_hash(0x00) == ()


def test_repr_shows_labels_not_keys() -> None:
    keys = ChannelKeys([ChannelKey("#test", TEST)])
    assert TEST.hex() not in repr(keys) and TEST.hex() not in repr(keys.get("#test"))
    assert "#test" in repr(keys)


def test_group_text_decrypts_splits_sender_and_reports_label() -> None:
    payload = _seal(TEST, _text(b"Bob: Testing 123"))
    message = _message(payload, ChannelKeys([ChannelKey("#test", TEST)]))
    assert (message.decryption_status, message.channel) == ("decrypted", "#test")
    assert (message.sender, message.text, message.sender_timestamp) == (
        "Bob", "Bob: Testing 123", 1700000000,
    )  # fmt: skip


def test_group_text_status_without_keys_with_short_ciphertext_and_with_wrong_keys() -> None:
    payload = _seal(TEST, _text(b"hello"))
    assert _message(payload, None).decryption_status == "no_key"
    assert _message(payload, ChannelKeys()).decryption_status == "no_key"
    assert _message(payload[:7], ChannelKeys.public()).decryption_status == "no_key"
    assert _message(payload, ChannelKeys.public()).decryption_status == "decryption_failed"


def test_group_text_under_three_bytes_is_too_short() -> None:
    packet = decode_packet(b"\x15\x00\x11\x22", ChannelKeys.public())
    assert packet.payload == InvalidPayload("too short", b"\x11\x22")
    assert channel_hash_column(packet) is None


def test_group_text_json_and_channel_column() -> None:
    keys = ChannelKeys([ChannelKey("public", PUBLIC)])  # a rainbow spelling
    packet = decode_packet(b"\x15\x00" + _seal(PUBLIC, _text(b"hi")), keys)
    assert payload_json(packet) == {
        "type": "CHAN", "channelHash": 17, "channelHashHex": "11", "decryptionStatus": "decrypted",
        "channel": "Public", "text": "hi", "sender_timestamp": 1700000000,
    }  # fmt: skip
    assert channel_hash_column(packet) == "Public"
    failed = decode_packet(b"\x15\x00" + _seal(TEST, _text(b"hi")), keys)
    assert channel_hash_column(failed) == f"enc_{channel_hash(TEST):02X}"


@pytest.mark.parametrize(
    ("body", "sender", "text"),
    [(b"Bob: hi", "Bob", "Bob: hi"), (b"hi: there: you", "hi", "hi: there: you"),
     (b": hi", "", ": hi"), (b"a:b: hi", "", "a:b: hi"), (b"[x]: hi", "", "[x]: hi"),
     (b"x" * 49 + b": hi", "x" * 49, "x" * 49 + ": hi"),
     (b"x" * 50 + b": hi", "", "x" * 50 + ": hi"),
     (b"Bob: ", "Bob", ""), (b"no sender", "", "no sender"),
     ("Ünï: ok".encode(), "Ünï", "Ünï: ok")],
)  # fmt: skip
def test_sender_split_rules(body: bytes, sender: str, text: str) -> None:
    message = _message(_seal(TEST, _text(body)), ChannelKeys([ChannelKey("#test", TEST)]))
    assert (message.sender, message.text) == (sender, text)


@pytest.mark.parametrize(
    ("body", "accepted"),
    [(b"ok\x00garbage\xff", True), (b"\xff\xfe", False), (b"a\x01\x02b", True),
     (b"a\x01\x02\x03b", False), (b"tab\tnew\nline", True), ("a\ufffd\ufffd\ufffd".encode(), False),
     (b"\r\r", True), (b"\r\r\r", False)],
)  # fmt: skip
def test_decrypted_text_must_be_utf8_with_at_most_two_unprintables(
    body: bytes, accepted: bool
) -> None:
    message = _message(_seal(TEST, _text(body)), ChannelKeys([ChannelKey("#test", TEST)]))
    assert message.decryption_status == ("decrypted" if accepted else "decryption_failed")


def _colliding_hashtag(target: int) -> ChannelKey:
    for n in itertools.count():
        key = ChannelKey.hashtag(f"#collide{n}")
        if key.channel_hash == target:
            return key
    raise AssertionError  # pragma: no cover


def test_keys_sharing_a_hash_are_tried_in_order_until_one_fits() -> None:
    decoy = _colliding_hashtag(channel_hash(TEST))
    keys = ChannelKeys([decoy, ChannelKey("#test", TEST)])
    message = _message(_seal(TEST, _text(b"hi")), keys)
    assert (message.decryption_status, message.channel) == ("decrypted", "#test")


def test_group_data_decrypts_with_its_own_layout_and_raw_label() -> None:
    keys = ChannelKeys([ChannelKey("public", PUBLIC)])
    packet = decode_packet(b"\x19\x00" + _seal(PUBLIC, bytes.fromhex("3412051020304050")), keys)
    assert payload_json(packet) == {
        "type": "GRP_DATA", "channelHash": 17, "channelHashHex": "11",
        "decryptionStatus": "decrypted", "channel": "public", "dataType": 0x1234, "dataLen": 5,
        "decryptedBlob": "1020304050",
    }  # fmt: skip
    assert channel_hash_column(packet) is None


def test_group_data_with_an_overlong_length_reports_an_error() -> None:
    keys = ChannelKeys([ChannelKey("#test", TEST)])
    message = _message(_seal(TEST, bytes.fromhex("3412FF10")), keys, header=0x19)
    assert (message.data_type, message.data_len, message.blob) == (0x1234, 0xFF, b"")
    assert message.error == "inner data_len exceeds buffer"


def test_group_data_is_not_checked_for_text() -> None:
    keys = ChannelKeys([ChannelKey("#test", TEST)])
    message = _message(_seal(TEST, bytes.fromhex("000003FFFEFD")), keys, header=0x19)
    assert (message.decryption_status, message.blob) == ("decrypted", b"\xff\xfe\xfd")


def test_cipher_rejects_wrong_mac_and_partial_blocks() -> None:
    cipher = GroupCipher(TEST)
    mac, ciphertext = cipher.seal(b"hello")
    assert cipher.open(mac, ciphertext) == b"hello" + bytes(11)
    assert cipher.open(bytes((mac[0] ^ 1, mac[1])), ciphertext) is None
    assert cipher.open(cipher.mac(ciphertext[:15]), ciphertext[:15]) is None
    assert cipher.open(cipher.mac(b""), b"") is None
    with pytest.raises(ValueError, match="16 bytes"):
        GroupCipher(b"short")
