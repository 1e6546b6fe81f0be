"""Made-up but plausible names: towns, hills, people, callsigns and node names.

Everything is drawn from the caller's seeded `random.Random`, so a seed gives the same
names every time. Names stay within the 32 bytes an advert carries.
"""

from __future__ import annotations

import random
from typing import Final

_ONSETS: Final = (
    "Ash",
    "Bel",
    "Bram",
    "Cal",
    "Clay",
    "Cor",
    "Dun",
    "Elm",
    "Fair",
    "Fern",
    "Glen",
    "Hal",
    "Hart",
    "Holl",
    "Kel",
    "Lin",
    "Mar",
    "Mill",
    "Nor",
    "Oak",
    "Pell",
    "Quin",
    "Red",
    "Ros",
    "Sal",
    "Shel",
    "Stan",
    "Tam",
    "Thorn",
    "Vale",
    "Wes",
    "Wil",
    "Wyn",
    "Yar",
)
_ENDINGS: Final = (
    "brook",
    "bury",
    "dale",
    "field",
    "ford",
    "gate",
    "haven",
    "hurst",
    "ley",
    "mont",
    "mouth",
    "port",
    "ridge",
    "stead",
    "ton",
    "vale",
    "ville",
    "wick",
    "wood",
    "worth",
)
_HILL_WORDS: Final = ("Peak", "Hill", "Ridge", "Mountain", "Knob", "Summit", "Butte", "Mesa")
_FIRST_NAMES: Final = (
    "Alex",
    "Ana",
    "Ben",
    "Bea",
    "Carl",
    "Cleo",
    "Dan",
    "Dee",
    "Eli",
    "Emma",
    "Finn",
    "Faye",
    "Gus",
    "Gia",
    "Hugo",
    "Ida",
    "Ivan",
    "Jo",
    "Jack",
    "Kai",
    "Kim",
    "Leo",
    "Lia",
    "Max",
    "Mia",
    "Nico",
    "Nora",
    "Otto",
    "Pia",
    "Quinn",
    "Ray",
    "Rosa",
    "Sam",
    "Sky",
    "Tom",
    "Tess",
    "Uma",
    "Vic",
    "Wren",
    "Xan",
    "Yuki",
    "Zoe",
)
_DEVICES: Final = ("T-Deck", "Heltec", "T-Echo", "RAK", "T1000", "Wio", "XIAO", "Station")
_EMOJI: Final = ("📡", "🏔️", "🛰️", "⚡", "🌲", "🌊", "📟", "🚲", "🏠", "🔋")
_LETTERS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def town_name(rng: random.Random) -> str:
    """A town: an onset and an ending ('Marbrook')."""
    return rng.choice(_ONSETS) + rng.choice(_ENDINGS)


def hill_name(rng: random.Random) -> str:
    """A hill or peak ('Thorn Ridge')."""
    return f"{rng.choice(_ONSETS)}{rng.choice(('', 'ton', 'ley', 'mar'))} {rng.choice(_HILL_WORDS)}"


def callsign(rng: random.Random) -> str:
    """An amateur-radio style callsign ('KJ6ABC')."""
    prefix = rng.choice(("K", "W", "N", "KJ", "KK", "KD", "AE", "KF"))
    suffix = "".join(rng.choice(_LETTERS) for _ in range(rng.choice((2, 3, 3))))
    return f"{prefix}{rng.randrange(10)}{suffix}"


def repeater_name(rng: random.Random, town: str, hill: str | None) -> str:
    """A repeater's advertised name."""
    place = hill or town
    style = rng.random()
    if style < 0.35:
        name = f"{place} Repeater"
    elif style < 0.55:
        name = f"{place} Rptr"
    elif style < 0.75:
        name = f"{callsign(rng)} Repeater"
    elif style < 0.9:
        name = f"{town[:6].upper()}-RPT-{rng.randrange(1, 10)}"
    else:
        name = f"{place} {rng.choice(_EMOJI)}"
    return fit(name)


def companion_name(rng: random.Random) -> str:
    """A companion's name: a person, a device, sometimes a callsign or an emoji."""
    style = rng.random()
    first = rng.choice(_FIRST_NAMES)
    if style < 0.35:
        name = f"{first} {rng.choice(_DEVICES)}"
    elif style < 0.6:
        name = callsign(rng)
    elif style < 0.8:
        name = f"{first}{rng.choice(_LETTERS)}"
    elif style < 0.92:
        name = f"{first} {rng.choice(_EMOJI)}"
    else:
        name = f"{first}-{rng.randrange(100):02d}"
    return fit(name)


def room_name(rng: random.Random, town: str) -> str:
    """A room server's name."""
    return fit(f"{town} {rng.choice(('Room', 'BBS', 'Chat', 'Hub'))}")


def sensor_name(rng: random.Random, town: str) -> str:
    """A sensor's name."""
    return fit(f"{rng.choice(('WX', 'Env', 'Sensor'))} {town} {rng.randrange(1, 20)}")


def fit(name: str, limit: int = 32) -> str:
    """Cut a name to `limit` UTF-8 bytes without splitting a character."""
    data = name.encode()
    if len(data) <= limit:
        return name
    return data[:limit].decode(errors="ignore").rstrip()
