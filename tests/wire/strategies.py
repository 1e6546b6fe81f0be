"""Hypothesis strategies for MeshCore frames and payload records."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from meshlens.wire.crypto import derived_key
from meshlens.wire.encode import (
    advert_payload,
    appdata,
    encode_frame,
    encode_payload,
    group_data_payload,
    group_text_payload,
)
from meshlens.wire.payloads import (
    Ack,
    AnonRequest,
    Datagram,
    Multipart,
    Payload,
    RawCustom,
    Reserved,
    Trace,
)


def relaxed(max_examples: int = 100) -> settings:
    """Settings for tests that sign or encrypt: no deadline on a shared, busy machine."""
    return settings(
        max_examples=max_examples, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )


HASHTAGS = ("#test", "#bot", "#LongFast", "#General", "#MeshCore")

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)


def blobs(min_size: int = 0, max_size: int = 160) -> st.SearchStrategy[bytes]:
    """Byte strings."""
    return st.binary(min_size=min_size, max_size=max_size)


@dataclass(frozen=True)
class Route:
    """Header fields of a frame, apart from its payload."""

    route_type: int
    path: bytes
    hash_size: int
    transport_codes: bytes | None
    payload_version: int


@st.composite
def routes(draw: st.DrawFn, *, hash_sizes: tuple[int, ...] = (1, 2, 3)) -> Route:
    """Route type, transport codes and a valid header path."""
    route_type = draw(st.integers(0, 3))
    hash_size = draw(st.sampled_from(hash_sizes))
    hops = draw(st.integers(0, min(63, 64 // hash_size)))
    path = draw(st.binary(min_size=hops * hash_size, max_size=hops * hash_size))
    codes = draw(st.binary(min_size=4, max_size=4)) if route_type in (0, 3) else None
    return Route(route_type, path, hash_size, codes, draw(st.integers(0, 3)))


def frame(route: Route, payload_type: int, payload: bytes) -> bytes:
    """Assemble a frame from a route and a payload."""
    return encode_frame(
        route_type=route.route_type,
        payload_type=payload_type,
        payload=payload,
        path=route.path,
        hash_size=route.hash_size,
        transport_codes=route.transport_codes,
        payload_version=route.payload_version,
    )


# --- payload records that decode back to themselves -----------------------------------


def datagrams() -> st.SearchStrategy[Datagram]:
    """REQ/RESPONSE/TXT_MSG/PATH envelopes."""
    return st.builds(Datagram, u8, u8, st.binary(min_size=2, max_size=2), blobs(0, 150))


@st.composite
def acks(draw: st.DrawFn) -> Ack:
    """ACKs of 4, 5, 6 or more bytes."""
    attempt = draw(st.none() | u8)
    rand = draw(st.none() | u8) if attempt is not None else None
    trailer = draw(blobs(0, 8)) if rand is not None else b""
    return Ack(draw(u32), attempt, rand, trailer)


def anon_requests() -> st.SearchStrategy[AnonRequest]:
    """ANON_REQ envelopes."""
    return st.builds(
        AnonRequest,
        u8,
        st.binary(min_size=32, max_size=32),
        st.binary(min_size=2, max_size=2),
        blobs(0, 140),
    )


def multiparts() -> st.SearchStrategy[Multipart]:
    """MULTIPART parts of any inner type."""
    return st.builds(Multipart, st.integers(0, 15), st.integers(0, 15), blobs(0, 20))


def raw_customs() -> st.SearchStrategy[RawCustom]:
    """RAW_CUSTOM payloads."""
    return st.builds(RawCustom, blobs(0, 180))


def reserveds() -> st.SearchStrategy[Reserved]:
    """Payloads of the reserved types."""
    return st.builds(Reserved, blobs(0, 180))


@st.composite
def traces(draw: st.DrawFn) -> tuple[Trace, bytes]:
    """A TRACE record with a route, and the header SNR bytes it was heard with."""
    snr = draw(st.binary(max_size=20))
    flags = draw(u8)
    route = draw(blobs(1, 60))
    snr_db = tuple((b - 256 if b > 127 else b) / 4 for b in snr)
    return Trace(draw(u32), draw(u32), flags, route, snr_db), snr


PLAIN_RECORDS: dict[int, st.SearchStrategy[Payload]] = {
    0x00: datagrams(),
    0x01: datagrams(),
    0x02: datagrams(),
    0x03: acks(),
    0x07: anon_requests(),
    0x08: datagrams(),
    0x0A: multiparts(),
    0x0C: reserveds(),
    0x0D: reserveds(),
    0x0E: reserveds(),
    0x0F: raw_customs(),
}


# --- semantic inputs for the payloads that need keys ---------------------------------

private_keys = st.binary(min_size=32, max_size=32).map(Ed25519PrivateKey.from_private_bytes)

# Names that survive the reference name cleaning unchanged: no NUL or control characters
# and at most 32 UTF-8 bytes.
names = st.text(
    st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\x00"),
    max_size=12,
).filter(lambda n: len(n.encode()) <= 32)

micro_degrees = st.integers(-90_000_000, 90_000_000)


@st.composite
def advert_inputs(draw: st.DrawFn) -> dict[str, object]:
    """Keyword arguments of `appdata` plus key and timestamp."""
    located = draw(st.booleans())
    return {
        "private_key": draw(private_keys),
        "timestamp": draw(u32),
        "advert_type": draw(st.integers(0, 15)),
        "lat": draw(micro_degrees) / 1e6 if located else None,
        "lon": draw(st.integers(-180_000_000, 180_000_000)) / 1e6 if located else None,
        "feat1": draw(st.none() | u16),
        "feat2": draw(st.none() | u16),
        "name": draw(names),
    }


def advert_bytes(inputs: dict[str, object]) -> bytes:
    """The ADVERT payload for `advert_inputs`."""
    fields = dict(inputs)
    key = fields.pop("private_key")
    timestamp = fields.pop("timestamp")
    assert isinstance(key, Ed25519PrivateKey) and isinstance(timestamp, int)
    return advert_payload(key, timestamp=timestamp, appdata=appdata(**fields))  # type: ignore[arg-type]


@st.composite
def any_payloads(draw: st.DrawFn) -> tuple[int, bytes]:
    """(payload type, payload bytes) of any type, valid or not, up to 184 bytes."""
    payload_type = draw(st.integers(0, 15))
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return payload_type, draw(blobs(0, 184))
    if payload_type == 0x04:
        return payload_type, advert_bytes(draw(advert_inputs()))
    if payload_type in (0x05, 0x06):
        key = draw(st.sampled_from(HASHTAGS))
        if payload_type == 0x05:
            text = draw(st.text(max_size=40))
            return payload_type, group_text_payload(
                derived_key(key), timestamp=draw(u32), text=text
            )
        return payload_type, group_data_payload(
            derived_key(key), data_type=draw(u16), blob=draw(blobs(0, 40))
        )
    if payload_type == 0x09:
        trace, _ = draw(traces())
        return payload_type, encode_payload(trace)
    if payload_type == 0x0B:
        return payload_type, bytes((draw(st.sampled_from((0x80, 0x81, 0x90, 0x92, 0x10))),)) + draw(
            blobs(0, 40)
        )
    if payload_type in PLAIN_RECORDS:
        return payload_type, encode_payload(draw(PLAIN_RECORDS[payload_type]))
    return payload_type, draw(blobs(0, 60))


@st.composite
def valid_frames(draw: st.DrawFn) -> bytes:
    """Frames that decode: any route, any payload type, payloads of every shape."""
    payload_type, payload = draw(any_payloads())
    return frame(draw(routes()), payload_type, payload)
