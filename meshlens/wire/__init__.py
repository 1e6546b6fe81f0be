"""The MeshCore wire format: frames to records and back (pure: no I/O, no clock).

`decode_packet` / `decode_hex` turn a frame into a `Packet`; `peek_frame` gives only its
identity and path, cheaply, for observations of transmissions already stored. The JSON
shapes of the reference API live in `meshlens.wire.json`, the encoder in
`meshlens.wire.encode`.
"""

from meshlens.wire.airtime import airtime_ms
from meshlens.wire.channels import PUBLIC_KEY_HEX, PUBLIC_LABEL, ChannelKey, ChannelKeys
from meshlens.wire.header import PAYLOAD_NAMES, ROUTE_NAMES, PayloadType, RouteType
from meshlens.wire.json import (
    channel_hash_column,
    decoded_json_text,
    packet_json,
    path_json_text,
    payload_json,
)
from meshlens.wire.packet import (
    FrameIdentity,
    Packet,
    content_hash,
    decode_hex,
    decode_packet,
    parse_hex,
    peek_frame,
)
from meshlens.wire.payloads import (
    Ack,
    Advert,
    AnonRequest,
    Control,
    Datagram,
    GroupMessage,
    InvalidPayload,
    Multipart,
    Payload,
    RawCustom,
    Reserved,
    Trace,
)
from meshlens.wire.regions import Region, RegionKeys

__all__ = [
    "PAYLOAD_NAMES",
    "PUBLIC_KEY_HEX",
    "PUBLIC_LABEL",
    "ROUTE_NAMES",
    "Ack",
    "Advert",
    "AnonRequest",
    "ChannelKey",
    "ChannelKeys",
    "Control",
    "Datagram",
    "FrameIdentity",
    "GroupMessage",
    "InvalidPayload",
    "Multipart",
    "Packet",
    "Payload",
    "PayloadType",
    "RawCustom",
    "Region",
    "RegionKeys",
    "Reserved",
    "RouteType",
    "Trace",
    "airtime_ms",
    "channel_hash_column",
    "content_hash",
    "decode_hex",
    "decode_packet",
    "decoded_json_text",
    "packet_json",
    "parse_hex",
    "path_json_text",
    "payload_json",
    "peek_frame",
]
