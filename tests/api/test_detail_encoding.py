"""Detail bodies: stored gzip, sent gzip to clients that accept it when smaller; made when read
when a detail compute returns a mapping that makes them so."""

from __future__ import annotations

import gzip
from collections.abc import Iterator, Mapping

from meshlens.analytics.query import Query
from meshlens.analytics.registry import Analytic, Detail
from meshlens.api.recompute import EncodedDetails, compress_detail, encode, render_analytic
from meshlens.api.responses import Representation
from meshlens.recomputer import Published, etag_of
from meshlens.records import JSONValue
from meshlens.store.store import PacketStore


def _published() -> Published:
    return Published(b"{}", etag_of(b"{}"), computed_at_ms=0, generation=1, duration_s=0.0)


def _headers(reply_headers: list[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    return dict(reply_headers)


def test_a_large_detail_goes_out_as_stored_when_gzip_is_accepted() -> None:
    body = b'{"samples":[' + b",".join(b"%d" % i for i in range(2000)) + b"]}"
    stored = compress_detail(body)
    rep = Representation.detail(stored, _published(), 60)
    zipped = rep.reply(now_ms=0, accept_encoding=b"gzip, deflate")
    plain = rep.reply(now_ms=0, accept_encoding=None)
    assert _headers(zipped.headers)[b"content-encoding"] == b"gzip"
    assert zipped.body is stored and gzip.decompress(zipped.body) == body
    assert b"content-encoding" not in _headers(plain.headers) and plain.body == body
    # Either tag revalidates.
    for reply in (zipped, plain):
        tag = _headers(reply.headers)[b"etag"]
        assert rep.reply(now_ms=0, if_none_match=tag).status == 304


def test_a_tiny_detail_is_sent_plain_even_to_gzip_clients() -> None:
    body = b'{"observer":"OBS1"}'
    rep = Representation.detail(compress_detail(body), _published(), 60)
    reply = rep.reply(now_ms=0, accept_encoding=b"gzip")
    assert b"content-encoding" not in _headers(reply.headers)
    assert reply.body == body


class _Counting(Mapping[str, JSONValue]):
    """A detail mapping that makes each value when read, and counts what it made."""

    def __init__(self, keys: list[str]) -> None:
        self.keys_, self.made = keys, 0

    def __getitem__(self, key: str) -> JSONValue:
        if key not in self.keys_:
            raise KeyError(key)
        self.made += 1
        return {"key": key, "samples": list(range(500))}

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys_)

    def __len__(self) -> int:
        return len(self.keys_)


def _lazy_analytic(details: Mapping[str, JSONValue]) -> Analytic:
    return Analytic(
        "lazy", "/api/lazy", "lazy", frozenset(), "test",
        compute=lambda snap, query: [],
        detail=Detail("/api/lazy/{key}", lambda snap, query: details, "none here"),
    )  # fmt: skip


def test_a_mapping_of_details_is_encoded_when_a_key_is_read() -> None:
    details = _Counting(["a", "b"])
    snap = PacketStore().snapshot()
    rendered = render_analytic(_lazy_analytic(details), snap, Query(now_ms=0))
    assert isinstance(rendered.extra, EncodedDetails) and details.made == 0
    published = Published.stamp(rendered, computed_at_ms=0, generation=1, duration_s=0.0)
    assert published.size_bytes > len(published.body) and details.made == 0  # nothing made
    assert sorted(published.extra) == ["a", "b"] and details.made == 0
    assert gzip.decompress(published.extra["b"]) == encode(details["b"])
    assert published.extra.get("c") is None


def test_a_dict_of_details_is_encoded_with_the_compute() -> None:
    details: dict[str, JSONValue] = {"a": {"key": "a"}}
    rendered = render_analytic(_lazy_analytic(details), PacketStore().snapshot(), Query(now_ms=0))
    assert type(rendered.extra) is dict
    assert {k: gzip.decompress(v) for k, v in rendered.extra.items()} == {"a": b'{"key":"a"}'}
