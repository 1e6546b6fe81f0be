"""Why an MQTT connection cannot go on: each is a reason to drop it and reconnect."""

from __future__ import annotations


class LinkError(Exception):
    """The connection cannot go on; drop it (and reconnect)."""


class MalformedPacketError(LinkError):
    """The broker sent bytes that are not a valid MQTT v5 packet."""


class ProtocolViolationError(LinkError):
    """A valid packet that a broker must not send to this client at this point."""


class ConnectRefusedError(LinkError):
    """The broker answered CONNECT with a failure reason code."""


class LinkTimeoutError(LinkError):
    """No CONNACK or SUBACK in time, or no answer to PINGREQ: the link is dead."""


class LinkClosedError(LinkError):
    """The broker closed the connection (or sent DISCONNECT)."""
