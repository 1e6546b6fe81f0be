"""Channels and the things people (and bots) say on them."""

from __future__ import annotations

import random
from typing import Final

from meshlens.wire.channels import PUBLIC_KEY_HEX, PUBLIC_LABEL
from meshlens.wire.crypto import derived_key

# Hashtag channels the simulated mesh talks on; their keys derive from the names (§4.4),
# so meshlens decrypts them when they are configured (`hashChannels`).
HASHTAG_CHANNELS: Final = (
    "#test",
    "#bot",
    "#wardriving",
    "#emergency",
    "#weather",
    "#hiking",
    "#meshcore",
    "#sensors",
)
# Private channels use random keys meshlens is never given: they stay encrypted.
PRIVATE_CHANNELS: Final = ("family", "club", "ops")

_GREETINGS: Final = (
    "Good morning mesh!",
    "Evening all",
    "Anyone on tonight?",
    "Hello from {town}",
    "Testing new antenna",
    "Just set up a {device}, hi!",
    "Radio check please",
    "Who can hear me?",
    "Back online after a reboot",
    "Nice to see so many nodes",
)
_REPORTS: Final = (
    "Heard {n} repeaters from {town}",
    "Signal is great near {town} today",
    "Driving through {town}, mapping coverage",
    "Solar repeater at {town} is back up",
    "Anyone know who runs {rpt}?",
    "New repeater going up near {town} this weekend",
    "Mesh is busy tonight",
    "Coverage gap between {town} and the hills?",
    "QSL {town}, 73",
    "copy that",
    "Thanks!",
    "Roger",
    "On my way to {town}",
)
_WEATHER: Final = (
    "WX {town}: {t}C, wind {w} kt",
    "Rain starting in {town}",
    "Fog rolling in at {town}",
    "Clear skies over {town}, {t}C",
)
_EMERGENCY: Final = (
    "Net check-in: {call} {town}, all OK",
    "Weekly emergency net starting now",
    "Power out in {town}, running on battery",
    "Drill: please ack",
)
_BOT_ASKS: Final = ("ping", "test", "!hops", "!weather", "path?")


def channel_key(name: str, seed: int) -> bytes:
    """The 16-byte key of a channel: Public's, a hashtag's, or a private one from the seed."""
    if name == PUBLIC_LABEL:
        return bytes.fromhex(PUBLIC_KEY_HEX)
    if name.startswith("#"):
        return derived_key(name)
    return derived_key(f"meshlens-sim-private/{seed}/{name}")


def pick_channel(rng: random.Random) -> str:
    """Where a companion posts: mostly Public, often a hashtag, sometimes private."""
    draw = rng.random()
    if draw < 0.48:
        return PUBLIC_LABEL
    if draw < 0.9:
        return rng.choices(HASHTAG_CHANNELS[:-1], weights=(14, 10, 6, 4, 5, 3, 4))[0]
    return rng.choice(PRIVATE_CHANNELS)


def message_text(rng: random.Random, channel: str, *, town: str, repeater: str) -> str:
    """Something to say on `channel`."""
    fill = {
        "town": town,
        "rpt": repeater,
        "n": rng.randint(2, 30),
        "t": rng.randint(4, 31),
        "w": rng.randint(0, 25),
        "device": rng.choice(("T-Deck", "Heltec V3", "RAK WisBlock", "T1000-E")),
        "call": f"K{rng.randrange(10)}{rng.choice('ABCDEFGH')}{rng.choice('XYZQRS')}",
    }
    if channel == "#bot":
        pool: tuple[str, ...] = _BOT_ASKS
    elif channel == "#weather":
        pool = _WEATHER
    elif channel == "#emergency":
        pool = _EMERGENCY
    elif rng.random() < 0.35:
        pool = _GREETINGS
    else:
        pool = _REPORTS
    return rng.choice(pool).format(**fill)


def bot_reply(rng: random.Random, asker: str, hops: int) -> str:
    """A bot's automatic answer on #bot and #test."""
    return rng.choice(
        (
            f"@[{asker}] pong, {hops} hops",
            f"@[{asker}] ack via {hops} hops",
            f"@[{asker}] heard you loud and clear",
        )
    )
