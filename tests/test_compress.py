"""assetpipe.compress: twins of the corpus build, and the twin rules themselves."""
from __future__ import annotations

import gzip
import os

import brotli

from assetpipe import compress
from assetpipe.media_types import is_compressible
from conftest import load_manifest

NEVER_TWINNED = (".png", ".woff2", ".woff", ".jpg", ".gif")


def test_corpus_gzip_twins_are_deterministic_and_decompress(corpus_build):
    _, _, output = corpus_build
    twins = 0
    for logical, entry in load_manifest(output)["assets"].items():
        data = (output / entry["path"]).read_bytes()
        if "gzip" not in entry["encodings"]:
            continue
        twin = (output / entry["encodings"]["gzip"]).read_bytes()
        assert entry["encodings"]["gzip"] == entry["path"] + ".gzip"
        assert twin[:3] == b"\x1f\x8b\x08", logical
        assert twin[3] & 0x08 == 0, f"{logical}: FNAME flag set"
        assert twin[4:8] == b"\0\0\0\0", f"{logical}: mtime in gzip header"
        assert gzip.decompress(twin) == data, logical
        twins += 1
    assert twins > 1500


def test_corpus_twin_exactly_when_it_saves_five_percent(corpus_build):
    _, _, output = corpus_build
    for logical, entry in load_manifest(output)["assets"].items():
        data = (output / entry["path"]).read_bytes()
        saves = len(gzip.compress(data, 9, mtime=0)) <= len(data) * 0.95
        assert ("gzip" in entry["encodings"]) == (is_compressible(logical) and saves), logical


def test_corpus_no_twins_for_already_compressed_types(corpus_build):
    _, _, output = corpus_build
    assets = load_manifest(output)["assets"]
    compressed = [name for name in assets if name.endswith(NEVER_TWINNED)]
    assert len(compressed) > 700
    assert all(assets[name]["encodings"] == {} for name in compressed)
    on_disk = [f for _, _, files in os.walk(output) for f in files
               if f.endswith(tuple(ext + s for ext in NEVER_TWINNED for s in (".gzip", ".br")))]
    assert on_disk == []


def test_corpus_brotli_twins_decompress(corpus_build):
    _, _, output = corpus_build
    count = 0
    for logical, entry in load_manifest(output)["assets"].items():
        if "br" in entry["encodings"]:
            assert entry["encodings"]["br"] == entry["path"] + ".br"
            twin = (output / entry["encodings"]["br"]).read_bytes()
            assert brotli.decompress(twin) == (output / entry["path"]).read_bytes(), logical
            count += 1
    assert count > 1500


def test_gzip_twin_is_reproducible_and_skipped_when_useless():
    text = b"body { color: red; }\n" * 100
    assert compress.gzip_twin(text) == compress.gzip_twin(text)
    assert compress.gzip_twin(os.urandom(4096)) is None
    assert compress.brotli_twin(os.urandom(4096)) is None
    assert brotli.decompress(compress.brotli_twin(text)) == text
