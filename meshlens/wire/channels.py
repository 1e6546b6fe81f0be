"""Channel keys: which group channels meshlens can read, looked up by channel-hash byte.

Keys come from the built-in Public key, a rainbow file, `hashChannels` names and explicit
`channelKeys` (protocol §4.4). The reference system tries every key on every channel
message; meshlens only tries the keys whose channel hash matches the message's hash byte,
which the spec allows. That differs only when a wrong key also passes the 2-byte MAC:
those messages stay `decryption_failed` here instead of yielding garbage.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from meshlens.wire.crypto import CIPHER_KEY_BYTES, GroupCipher, channel_hash, derived_key

PUBLIC_LABEL: Final = "Public"
PUBLIC_KEY_HEX: Final = "8b3387e9c5cdea6ac9e5edbaa115cd72"
"""The firmware-default public channel key (base64 izOH6cXN6mrJ5e26oRXNcg==), hash 0x11."""

_NO_NAMES: Final[Mapping[str, str]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ChannelKey:
    """One channel: its label, its 16-byte key and the hash byte its messages carry."""

    label: str
    key: bytes = field(repr=False)  # a secret
    channel_hash: int = field(init=False)
    cipher: GroupCipher = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "channel_hash", channel_hash(self.key))
        object.__setattr__(self, "cipher", GroupCipher(self.key))

    def __reduce__(self) -> tuple[type[ChannelKey], tuple[str, bytes]]:
        # Pickled as label and key (the cipher is rebuilt): keys go to the pipeline process.
        return (ChannelKey, (self.label, self.key))

    @property
    def text_label(self) -> str:
        """The label shown for a group text: any casing of `public` reads `Public` (§4.4)."""
        return PUBLIC_LABEL if self.label.lower() == "public" else self.label

    @classmethod
    def hashtag(cls, name: str) -> ChannelKey:
        """The key of a hashtag channel: SHA-256 of the name with its leading `#`."""
        label = name if name.startswith("#") else f"#{name}"
        return cls(label, derived_key(label))


_PUBLIC: Final = ChannelKey(PUBLIC_LABEL, bytes.fromhex(PUBLIC_KEY_HEX))


def _parse_key(text: str) -> bytes | None:
    """A 32-hex-character key as bytes, or None when it is not one."""
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        return None
    return key if len(key) == CIPHER_KEY_BYTES else None


class ChannelKeys:
    """An immutable set of channel keys, indexed by channel-hash byte."""

    __slots__ = ("_by_hash", "_by_label")

    def __init__(self, keys: Iterable[ChannelKey] = ()) -> None:
        by_label: dict[str, ChannelKey] = {}
        for key in keys:
            by_label[key.label] = key
        by_hash: dict[int, tuple[ChannelKey, ...]] = {}
        for key in by_label.values():
            by_hash[key.channel_hash] = (*by_hash.get(key.channel_hash, ()), key)
        self._by_label = by_label
        self._by_hash = by_hash

    @classmethod
    def public(cls) -> ChannelKeys:
        """Only the firmware-default Public channel."""
        return cls((_PUBLIC,))

    @classmethod
    def build(
        cls,
        *,
        rainbow: Mapping[str, str] = _NO_NAMES,
        hash_channels: Sequence[str] = (),
        explicit: Mapping[str, str] = _NO_NAMES,
    ) -> tuple[ChannelKeys, list[str]]:
        """Load keys in the reference order (§4.4); later sources override earlier ones.

        Returns the keys and one warning per entry that was skipped (bad hex, wrong
        length, a non-exact `public` spelling); nothing is printed or raised.
        """
        warnings: list[str] = []
        keys: dict[str, ChannelKey] = {PUBLIC_LABEL: _PUBLIC}
        for name, text in rainbow.items():
            key = _parse_key(text)
            if key is None:
                warnings.append(f"rainbow channel {name!r}: key is not 32 hex characters")
                continue
            keys[name] = ChannelKey(name, key)
        explicit_names = {_explicit_label(name) for name in explicit}
        for raw_name in hash_channels:
            name = raw_name.strip()
            if not name.lstrip("#"):
                warnings.append(f"hashChannels entry {raw_name!r} is empty")
                continue
            channel = ChannelKey.hashtag(name)
            if channel.label not in explicit_names:
                keys[channel.label] = channel
        for name, text in explicit.items():
            label = _explicit_label(name)
            key = _parse_key(text)
            if key is None:
                warnings.append(f"channelKeys {name!r}: key is not 32 hex characters")
            elif label == PUBLIC_LABEL and name != PUBLIC_LABEL:
                # The built-in Public always exists, and only the exact spelling replaces it.
                warnings.append(f"channelKeys {name!r} ignored: spell it {PUBLIC_LABEL!r}")
            else:
                keys[label] = ChannelKey(label, key)
        return cls(keys.values()), warnings

    def with_keys(self, keys: Iterable[ChannelKey]) -> ChannelKeys:
        """A copy with `keys` added (replacing keys of the same label)."""
        return ChannelKeys((*self._by_label.values(), *keys))

    def for_hash(self, channel_hash: int) -> tuple[ChannelKey, ...]:
        """The keys whose messages carry `channel_hash`, in load order."""
        return self._by_hash.get(channel_hash, ())

    def get(self, label: str) -> ChannelKey | None:
        """The key with this label, if loaded."""
        return self._by_label.get(label)

    def __len__(self) -> int:
        return len(self._by_label)

    def __iter__(self) -> Iterator[ChannelKey]:
        return iter(self._by_label.values())

    def __repr__(self) -> str:
        # Labels only: keys are secrets.
        return f"ChannelKeys({sorted(self._by_label)!r})"


def _explicit_label(name: str) -> str:
    """`channelKeys` names: any casing of `public` is normalised to `Public` (§4.4)."""
    stripped = name.strip()
    return PUBLIC_LABEL if stripped.lower() == "public" else stripped
