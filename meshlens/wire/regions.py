"""Region scopes: which named region a transport-scoped frame's code belongs to (protocol §8)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from meshlens.wire.crypto import CIPHER_KEY_BYTES, Hmac256, derived_key, transport_code


@dataclass(frozen=True, slots=True)
class Region:
    """One region: its `#name` and its 16-byte key."""

    name: str
    key: bytes = field(repr=False)
    _mac: Hmac256 = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_mac", Hmac256(self.key))

    def __reduce__(self) -> tuple[type[Region], tuple[str, bytes]]:
        # Pickled as name and key (the MAC is rebuilt): regions go to the pipeline process.
        return (Region, (self.name, self.key))

    @classmethod
    def named(cls, name: str) -> Region:
        """The region whose key is SHA-256 of its name with a leading `#`."""
        label = name if name.startswith("#") else f"#{name}"
        return cls(label, derived_key(label))

    def code(self, payload_type: int, payload: bytes) -> int:
        """The transport code a node of this region puts on the payload, as uint16."""
        return transport_code(self._mac, payload_type, payload)

    def code_bytes(self, payload_type: int, payload: bytes) -> bytes:
        """The code as it appears on the wire (little-endian)."""
        return self.code(payload_type, payload).to_bytes(2, "little")


class RegionKeys:
    """The configured regions (`hashRegions`), in configuration order."""

    __slots__ = ("regions",)

    def __init__(self, regions: Iterable[Region] = ()) -> None:
        seen: dict[str, Region] = {}
        for region in regions:
            seen.setdefault(region.name, region)  # duplicates ignored; the first one wins
        self.regions: tuple[Region, ...] = tuple(seen.values())

    @classmethod
    def from_names(cls, names: Sequence[str]) -> RegionKeys:
        """Regions from `hashRegions`: trimmed, `#` added when missing, blanks skipped."""
        return cls(Region.named(n.strip()) for n in names if n.strip().lstrip("#"))

    @classmethod
    def from_hex(cls, keys: Mapping[str, str]) -> tuple[RegionKeys, list[str]]:
        """Regions with explicit hex keys; returns the regions and warnings for bad keys."""
        regions: list[Region] = []
        warnings: list[str] = []
        for name, text in keys.items():
            try:
                key = bytes.fromhex(text)
            except ValueError:
                key = b""
            if len(key) != CIPHER_KEY_BYTES:
                warnings.append(f"region {name!r}: key is not 32 hex characters")
                continue
            regions.append(Region(name, key))
        return cls(regions), warnings

    def match(self, payload_type: int, payload: bytes, code1: bytes) -> str:
        """The name of the first region whose code equals `code1` (wire bytes), else ""."""
        wanted = code1[0] | code1[1] << 8
        for region in self.regions:
            if region.code(payload_type, payload) == wanted:
                return region.name
        return ""

    def __len__(self) -> int:
        return len(self.regions)

    def __repr__(self) -> str:
        return f"RegionKeys({[r.name for r in self.regions]!r})"
