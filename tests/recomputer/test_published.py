"""Published, Rendered and render: the encoded, immutable snapshot."""

from __future__ import annotations

import gzip
import os
import pickle
import platform

import pytest

from meshlens.recomputer import Published, etag_of, gzip_variant, published, render


def test_etag_is_strong_stable_and_tracks_the_bytes() -> None:
    tag = etag_of(b'{"a": 1}')
    assert tag == etag_of(b'{"a": 1}')
    assert tag != etag_of(b'{"a": 2}')
    assert tag.startswith('"') and tag.endswith('"') and not tag.startswith("W/")
    assert len(tag) == 34


def test_gzip_variant_only_when_it_helps() -> None:
    assert gzip_variant(b"{}") is None
    assert gzip_variant(os.urandom(4096)) is None  # incompressible
    body = b'{"k": "' + b"abc" * 2000 + b'"}'
    packed = gzip_variant(body)
    assert packed is not None and gzip.decompress(packed) == body
    assert gzip_variant(body) == packed  # deterministic: no timestamp inside


def test_render_copies_side_outputs() -> None:
    extra = {"node-a": b"{}"}
    rendered = render(b"[]", extra)
    extra["node-b"] = b"{}"
    assert dict(rendered.extra) == {"node-a": b"{}"}
    assert render(b"[]").extra == {}


def test_published_stamp_carries_everything_and_pickles() -> None:
    rendered = render(b"x" * 5000, {"n": b"1"})
    published = Published.stamp(rendered, computed_at_ms=1000, generation=3, duration_s=0.5)
    assert (published.body, published.etag) == (rendered.body, rendered.etag)
    assert published.gzip_body == rendered.gzip_body
    assert published.extra == {"n": b"1"}
    assert (published.computed_at_ms, published.generation, published.duration_s) == (1000, 3, 0.5)
    gz = len(rendered.gzip_body or b"")
    assert published.size_bytes == 5000 + gz + 2
    assert pickle.loads(pickle.dumps(published)) == published
    assert published.age_s(500) == 0.0  # never negative


@pytest.mark.parametrize("backend", ["isal", "zlib"])
def test_gzip_is_plain_gzip_and_deterministic_with_either_backend(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend == "zlib":  # as on a CPU without an ISA-L build
        monkeypatch.setattr(published, "_isal_compress", None)
    body = b'{"rows":[' + b",".join(b'{"n":%d}' % i for i in range(2000)) + b"]}"
    for level in (1, 3):
        packed = published.gzip_compress(body, level)
        assert gzip.decompress(packed) == body
        assert packed == published.gzip_compress(body, level)
        assert len(packed) < len(body) // 4


def test_isal_is_used_where_pyproject_installs_it() -> None:
    if platform.machine() in ("x86_64", "AMD64", "aarch64", "arm64"):
        assert published._isal_compress is not None
