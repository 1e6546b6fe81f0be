"""Text from radio bytes, decoded the way the reference system (Go) decodes it.

Go replaces every invalid UTF-8 byte with U+FFFD one byte at a time, where Python's
'replace' handler swallows a whole broken sequence into one U+FFFD (protocol §4.3: the
bytes D9 E9 AD give three replacement characters in Go, two in Python). One real advert
depends on the difference, so names and texts go through `go_decode`.
"""

from __future__ import annotations

import codecs
import re
from typing import Final

_GO_REPLACE: Final = "meshlens-go-replace"


def _replace_one_byte(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: one U+FFFD for the first bad byte, then resume after it."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return "\ufffd", error.start + 1


# Registering is idempotent and touches no I/O; lookups by name then cost nothing.
codecs.register_error(_GO_REPLACE, _replace_one_byte)

# §4.3: control characters below 0x20 except TAB and LF, and DEL, are removed from names.
_NAME_CONTROLS: Final = {c: None for c in [*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F]}

ADVERT_NAME_MAX_BYTES: Final = 32

# §4.4: what counts as "non-printable" when judging a decrypted channel text.
_NON_PRINTABLE: Final = re.compile("[\x00-\x08\x0b-\x1f\ufffd]")
MAX_NON_PRINTABLE: Final = 2


def go_decode(data: bytes) -> str:
    """Decode UTF-8, turning each invalid byte into one U+FFFD (Go's rune iteration)."""
    try:
        return data.decode()
    except UnicodeDecodeError:
        return data.decode("utf-8", _GO_REPLACE)


def advert_name(data: bytes) -> str:
    """Clean an advert name (§4.3): Go-decode, drop control characters, keep 32 bytes.

    The byte cut may split a character; its fragment then becomes U+FFFD per byte, as it
    does when the reference system serialises the truncated Go string.
    """
    try:
        name = data.decode()
        clean = len(data) <= ADVERT_NAME_MAX_BYTES
    except UnicodeDecodeError:
        name = data.decode("utf-8", _GO_REPLACE)
        clean = False
    if not name.isprintable():
        name = name.translate(_NAME_CONTROLS)
    if clean:
        return name
    encoded = name.encode()
    if len(encoded) <= ADVERT_NAME_MAX_BYTES:
        return name
    return go_decode(encoded[:ADVERT_NAME_MAX_BYTES])


def is_readable_text(text: str) -> bool:
    """True when a decrypted text has at most two non-printable characters (§4.4)."""
    if text.isprintable() and "\ufffd" not in text:
        return True
    return len(_NON_PRINTABLE.findall(text)) <= MAX_NON_PRINTABLE
