"""Typed payloads: what each MeshCore payload type decodes to (protocol §4).

Byte fields stay `bytes`; their hex spellings are made only when JSON is rendered
(`meshlens.wire.json`). Every record keeps the bytes needed to re-encode it exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

DecryptionStatus: TypeAlias = Literal["decrypted", "decryption_failed", "no_key"]

ROLE_NAMES: Final = ("none", "companion", "repeater", "room", "sensor")
"""§4.3 advertRole by advert type 0-4; 5-15 read `type-<n>`."""

FLAG_LOCATION: Final = 0x10
FLAG_FEAT1: Final = 0x20
FLAG_FEAT2: Final = 0x40
FLAG_NAME: Final = 0x80
ADVERT_TYPE_SENSOR: Final = 4


def role_name(flags: int | None) -> str:
    """The role label of an advert's flags byte; no appdata at all reads `companion`."""
    if flags is None:
        return "companion"
    kind = flags & 0x0F
    return ROLE_NAMES[kind] if kind < len(ROLE_NAMES) else f"type-{kind}"


@dataclass(frozen=True, slots=True)
class Datagram:
    """REQ, RESPONSE, TXT_MSG or PATH: a peer-to-peer encrypted datagram (§4.1, §4.6)."""

    dest_hash: int
    src_hash: int
    mac: bytes
    ciphertext: bytes


@dataclass(frozen=True, slots=True)
class Ack:
    """ACK (§4.2): a 4-byte checksum, then optional attempt and random bytes."""

    checksum: int
    attempt: int | None
    rand: int | None
    trailer: bytes  # bytes past the sixth; no firmware sends them

    @property
    def length(self) -> int:
        """`ackLen`: the payload length, capped at 6."""
        return 4 + (self.attempt is not None) + (self.rand is not None)


@dataclass(frozen=True, slots=True)
class Advert:
    """ADVERT (§4.3): a node announcing its key, clock, role, position and name."""

    public_key: str  # 64 lower-case hex
    timestamp: int  # the node's own clock, unix seconds
    signature: bytes
    appdata: bytes
    signature_valid: bool | None  # None when validation was not asked for
    flags: int | None  # None when there is no appdata
    lat: float | None
    lon: float | None
    name: str
    feat1: int | None
    feat2: int | None
    battery_mv: int | None
    temperature_c: float | None

    @property
    def role(self) -> str:
        """§4.3 advertRole: none/companion/repeater/room/sensor/type-N."""
        return role_name(self.flags)

    @property
    def public_key_bytes(self) -> bytes:
        """The 32-byte Ed25519 public key."""
        return bytes.fromhex(self.public_key)

    @property
    def signed_bytes(self) -> bytes:
        """What the signature covers: pubkey, timestamp (u32 LE) and appdata (§7)."""
        return self.public_key_bytes + self.timestamp.to_bytes(4, "little") + self.appdata


@dataclass(frozen=True, slots=True)
class GroupMessage:
    """GRP_TXT or GRP_DATA (§4.4): a channel message, decrypted when a key fits."""

    channel_hash: int
    mac: bytes
    ciphertext: bytes
    is_data: bool  # GRP_DATA
    decryption_status: DecryptionStatus
    channel: str | None  # label of the key that decrypted it
    sender: str  # claimed by the sender, unauthenticated; "" when the text has none
    text: str  # "<sender>: <message>", or the message alone
    sender_timestamp: int | None
    data_type: int | None  # GRP_DATA only
    data_len: int | None
    blob: bytes
    error: str | None  # a decrypted GRP_DATA whose inner layout is broken


@dataclass(frozen=True, slots=True)
class AnonRequest:
    """ANON_REQ (§4.5): a request from a node the receiver may not know, with its key."""

    dest_hash: int
    ephemeral_public_key: bytes
    mac: bytes
    ciphertext: bytes


@dataclass(frozen=True, slots=True)
class Trace:
    """TRACE (§4.7, §4.9): a route probe; each forwarder appends the SNR it heard."""

    tag: int
    auth_code: int
    flags: int
    route: bytes  # the intended route: node prefixes of `hop_width` bytes
    snr_db: tuple[float, ...]  # from the header path bytes, only when a route is present

    @property
    def hop_width(self) -> int:
        """Bytes per route hop: 1 << (flags & 3)."""
        return 1 << (self.flags & 3)


@dataclass(frozen=True, slots=True)
class Multipart:
    """MULTIPART (§4.8): one part of a split packet; firmware only splits ACKs."""

    remaining: int
    inner_type: int
    inner: bytes

    @property
    def is_ack(self) -> bool:
        """True when the part carries an ACK checksum (inner type 3 and at least 4 bytes)."""
        return self.inner_type == 3 and len(self.inner) >= 4


@dataclass(frozen=True, slots=True)
class Control:
    """CONTROL (§4.10): node discovery requests and responses."""

    data: bytes  # the whole payload; byte 0 holds the flags
    subtype: Literal["DISCOVER_REQ", "DISCOVER_RESP", "UNKNOWN"]
    filter: int | None
    tag: int | None
    since: int | None
    node_type: int | None
    snr_raw: int | None  # SNR x 4, as sent
    public_key: bytes | None  # 32 bytes, or an 8-byte prefix

    @property
    def flags(self) -> int:
        """Byte 0: subtype in the high nibble."""
        return self.data[0]


@dataclass(frozen=True, slots=True)
class RawCustom:
    """RAW_CUSTOM (§4.11): application-defined bytes."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Reserved:
    """Payload types 0x0C-0x0E (§4.12): reserved, kept as bytes."""

    data: bytes


@dataclass(frozen=True, slots=True)
class InvalidPayload:
    """A payload too short for its type; the frame itself is still valid (§3.5 step 6)."""

    error: str
    data: bytes


Payload: TypeAlias = (
    Datagram
    | Ack
    | Advert
    | GroupMessage
    | AnonRequest
    | Trace
    | Multipart
    | Control
    | RawCustom
    | Reserved
    | InvalidPayload
)
