"""Text from radio bytes, Go-style (protocol §4.3, §4.4)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshlens.wire.text import advert_name, go_decode, is_readable_text


@pytest.mark.parametrize(
    ("data", "text"),
    [(b"abc", "abc"), (b"\xd9\xe9\xad", "\ufffd" * 3), (b"\xe9\xad", "\ufffd" * 2),
     (b"\xc0\xaf", "\ufffd" * 2), (b"\xed\xa0\x80", "\ufffd" * 3),
     (b"\xf4\x90\x80\x80", "\ufffd" * 4),
     (b"\xf0\x9f\x98", "\ufffd" * 3), ("é😀".encode(), "é😀"), (b"a\xffb", "a\ufffdb")],
)  # fmt: skip
def test_go_decode_replaces_each_invalid_byte(data: bytes, text: str) -> None:
    assert go_decode(data) == text


def _go_reference(data: bytes) -> str:
    """Go's rune loop: the shortest valid sequence at each position, else U+FFFD for one byte."""
    out = []
    at = 0
    while at < len(data):
        for size in (1, 2, 3, 4):
            try:
                char = data[at : at + size].decode()
            except UnicodeDecodeError:
                continue
            out.append(char)
            at += size
            break
        else:
            out.append("\ufffd")
            at += 1
    return "".join(out)


@given(st.binary(max_size=40))
def test_go_decode_matches_the_rune_loop(data: bytes) -> None:
    assert go_decode(data) == _go_reference(data)


@given(st.binary(max_size=60).map(lambda b: b.replace(b"\x00", b"")))
def test_advert_names_lose_controls_then_keep_32_bytes(data: bytes) -> None:
    cleaned = "".join(c for c in _go_reference(data) if c in "\t\n" or " " <= c != "\x7f")
    assert advert_name(data) == _go_reference(cleaned.encode()[:32])


def test_readable_text_allows_two_unprintables() -> None:
    assert is_readable_text("a\x01\x02")
    assert not is_readable_text("a\x01\x02\ufffd")
    assert is_readable_text("tabs\tand\nnewlines\t\n\t")
    assert is_readable_text("emoji 😀 and DEL \x7f")
