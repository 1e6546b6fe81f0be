"""Detail bodies (stored gzip) are sent gzip to clients that accept it, when that is smaller."""

from __future__ import annotations

import gzip

from meshlens.api.recompute import compress_detail
from meshlens.api.responses import Representation
from meshlens.recomputer import Published, etag_of


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
