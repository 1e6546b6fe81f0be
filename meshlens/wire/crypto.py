"""The cryptography MeshCore uses on the air: channel ciphers, advert signatures, region codes."""

from __future__ import annotations

import hashlib
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes

CIPHER_KEY_BYTES: Final = 16
CIPHER_BLOCK_BYTES: Final = 16
CIPHER_MAC_BYTES: Final = 2
PUBLIC_KEY_BYTES: Final = 32
SIGNATURE_BYTES: Final = 64

_sha256 = hashlib.sha256


def derived_key(name: str) -> bytes:
    """First 16 bytes of SHA-256 of the name: hashtag channel keys (§4.4), region keys (§8)."""
    return _sha256(name.encode()).digest()[:CIPHER_KEY_BYTES]


def channel_hash(key: bytes) -> int:
    """The channel-hash byte a channel key announces: first byte of SHA-256(key) (§4.4)."""
    return _sha256(key).digest()[0]


class Hmac256:
    """HMAC-SHA256 with the key schedule hashed once, so each message costs two hash runs."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        padded = key.ljust(64, b"\0") if len(key) <= 64 else _sha256(key).digest().ljust(64, b"\0")
        self._inner = _sha256(bytes(b ^ 0x36 for b in padded))
        self._outer = _sha256(bytes(b ^ 0x5C for b in padded))

    def digest(self, message: bytes) -> bytes:
        """The 32-byte HMAC of `message`."""
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


class GroupCipher:
    """One 16-byte channel key: MAC-then-decrypt and encrypt-then-MAC (firmware Utils.cpp).

    The MAC is HMAC-SHA256 keyed with the key followed by 16 zero bytes, cut to 2 bytes;
    the cipher is AES-128-ECB over zero-padded 16-byte blocks, without unpadding.
    """

    __slots__ = ("_aes", "_decryptor", "_mac")

    def __init__(self, key: bytes) -> None:
        if len(key) != CIPHER_KEY_BYTES:
            raise ValueError(f"channel key must be {CIPHER_KEY_BYTES} bytes, got {len(key)}")
        self._mac = Hmac256(key + bytes(CIPHER_KEY_BYTES))
        self._aes = Cipher(algorithms.AES(key), modes.ECB())
        # ECB carries no state between blocks, so one context serves every message; building
        # a context costs more than decrypting a frame. `update` runs under the GIL.
        self._decryptor: CipherContext = self._aes.decryptor()

    def mac(self, ciphertext: bytes) -> bytes:
        """The 2-byte MAC the firmware puts in front of `ciphertext`."""
        return self._mac.digest(ciphertext)[:CIPHER_MAC_BYTES]

    def open(self, mac: bytes, ciphertext: bytes) -> bytes | None:
        """The plaintext, or None when the MAC or the block length does not fit this key."""
        if not ciphertext or len(ciphertext) % CIPHER_BLOCK_BYTES:
            return None
        if self._mac.digest(ciphertext)[:CIPHER_MAC_BYTES] != mac:
            return None
        try:
            return self._decryptor.update(ciphertext)
        except RuntimeError:  # the shared context is busy in another thread (no-GIL builds)
            return self._aes.decryptor().update(ciphertext)

    def seal(self, plaintext: bytes) -> tuple[bytes, bytes]:
        """Zero-pad, encrypt and MAC `plaintext`; returns (mac, ciphertext)."""
        padding = -len(plaintext) % CIPHER_BLOCK_BYTES
        if not plaintext:
            padding = CIPHER_BLOCK_BYTES
        ciphertext = self._aes.encryptor().update(plaintext + bytes(padding))
        return self.mac(ciphertext), ciphertext


def transport_code(region: Hmac256, payload_type: int, payload: bytes) -> int:
    """The region scope code of a payload (§8): HMAC over type byte and payload, as uint16 LE.

    `region` is the HMAC keyed with the region key. The firmware reserves 0x0000 and
    0xFFFF, so they are moved to 0x0001 and 0xFFFE.
    """
    digest = region.digest(bytes((payload_type,)) + payload)
    code = digest[0] | digest[1] << 8
    if code == 0x0000:
        return 0x0001
    if code == 0xFFFF:
        return 0xFFFE
    return code


def verify_advert(public_key: bytes, signature: bytes, signed: bytes) -> bool:
    """Ed25519 check of an advert (§7); a malformed key or signature counts as invalid."""
    if len(public_key) != PUBLIC_KEY_BYTES or len(signature) != SIGNATURE_BYTES:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, signed)
    except (InvalidSignature, ValueError):
        return False
    return True


def sign_advert(private_key: Ed25519PrivateKey, signed: bytes) -> bytes:
    """Ed25519 signature over the advert's signed bytes (pubkey, timestamp, appdata)."""
    return private_key.sign(signed)
