"""The local cache of expensive results: per-kind keys, counters, verification.

Each setting is changed in turn against a warm cache (copied into a fresh
output folder, so twins are looked up rather than found on disk) and the
results each kind recomputed are counted from the build report.
"""
from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from conftest import build_dir, published_files, run_cli, write_config, write_tree

from assetpipe.cache import cache_folder, decode_entry, encode_entry, entry_path, gzip_key

KINDS = ("png", "min", "gzip", "br")


def _png() -> bytes:
    """A gradient saved with fast deflate: oxipng has something to gain."""
    from PIL import Image
    im = Image.new("RGB", (96, 64))
    im.putdata([(x * 2, y * 3, (x + y) % 256) for y in range(64) for x in range(96)])
    buf = io.BytesIO()
    im.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def _site(root: Path) -> Path:
    js = "".join(f"function f{i}(a, b) {{\n  // note {i}\n  return a + b * {i};\n}}\n"
                 for i in range(60))
    css = "".join(f".c{i} {{ color: #{i:03d}; margin: 0 auto; }}\n" for i in range(60))
    write_tree(root / "static", {
        "js/app.js": js,
        "css/site.css": "/* site */\n.logo { background: url(../img/logo.png); }\n" + css,
        "img/logo.png": _png(),
    })
    return root


def _config(root: Path, output: str, extra: str = "") -> Path:
    base = {"compress": {"brotli": "true"}}
    for line in extra.splitlines():
        section, _, setting = line.partition(".")
        base.setdefault(section, {})[setting.split("=")[0].strip()] = setting.split("=")[1].strip()
    text = "".join(f"[{section}]\n" + "".join(f"{k} = {v}\n" for k, v in values.items())
                   for section, values in base.items())
    return write_config(root, output=output, extra=text, png_off=False,
                        name=f"{output}.toml")


def output_files(output: Path) -> dict:
    """The published output; the manifest without its `created` time stamp."""
    files = published_files(output)
    manifest = json.loads(files.pop("manifest.json"))
    manifest.pop("created")
    return dict(files, **{"manifest.json": manifest})


def _cache_of(root: Path, output: str) -> str:
    """The local cache folder of the build `_config(root, output)` describes."""
    from assetpipe.config import load_config
    return cache_folder(load_config(str(root / f"{output}.toml")).state_dir)


def _computed(report) -> dict[str, int]:
    return {kind: report.cache[kind]["computed"] for kind in KINDS}


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    """A first build (everything computed) whose cache the variants start from."""
    root = _site(tmp_path_factory.mktemp("cache-site"))
    report = build_dir(_config(root, "out0"))
    return root, report


def test_first_build_computes_every_kind(warm):
    _, report = warm
    assert _computed(report) == {"png": 1, "min": 2, "gzip": 2, "br": 2}
    assert all(report.cache[k]["local"] == report.cache[k]["remote"] == 0 for k in KINDS)


@pytest.mark.parametrize(("setting", "expected"), [
    ("", {"png": 0, "min": 0, "gzip": 0, "br": 0}),
    ("compress.brotli_quality = 5", {"png": 0, "min": 0, "gzip": 0, "br": 2}),
    # Every file is under 64 KiB: the large-file quality shapes none of them.
    ("compress.brotli_large_quality = 5", {"png": 0, "min": 0, "gzip": 0, "br": 0}),
    ("compress.gzip_level = 6", {"png": 0, "min": 0, "gzip": 2, "br": 0}),
    ("images.strip = \"none\"", {"png": 1, "min": 0, "gzip": 0, "br": 0}),
    # Longer names change the stylesheet's url(): its minified text and twins.
    ("versioning.length = 12", {"png": 0, "min": 1, "gzip": 1, "br": 1}),
    # Unminified JS: no minifier run, new bytes, so new twins for it alone.
    ("minify.js = false", {"png": 0, "min": 0, "gzip": 1, "br": 1}),
])
def test_changing_one_setting_recomputes_only_its_results(warm, setting, expected):
    root, _ = warm
    name = "out-" + (setting.split("=")[0].strip().replace(".", "-") or "same")
    cfg = _config(root, name, setting)
    shutil.copytree(_cache_of(root, "out0"), _cache_of(root, name))
    report = build_dir(cfg)
    assert _computed(report) == expected
    hits = sum(report.cache[k]["local"] for k in KINDS)
    assert hits == 7 - sum(expected.values()) - (setting == "minify.js = false")


def test_brotli_quality_alone_does_not_rerun_png_in_the_same_output(tmp_path):
    root = _site(tmp_path)
    first = build_dir(_config(root, "out"))
    assert first.cache["png"]["computed"] == 1
    report = build_dir(_config(root, "out", "compress.brotli_quality = 4"))
    assert report.processed == 3   # the settings changed: every job ran again
    assert report.cache["png"] == {"local": 1, "remote": 0, "computed": 0}


def test_corrupt_local_entry_is_recomputed_with_a_warning(tmp_path):
    root = _site(tmp_path)
    build_dir(_config(root, "a"))
    folder = _cache_of(root, "a")
    png_entries = list(Path(folder, "png").rglob("*"))
    entry = next(p for p in png_entries if p.is_file())
    data = bytearray(entry.read_bytes())
    data[-10] ^= 0xFF
    cfg = _config(root, "b")
    shutil.copytree(folder, _cache_of(root, "b"))
    Path(_cache_of(root, "b"), entry.relative_to(folder)).write_bytes(bytes(data))
    report = build_dir(cfg)
    assert report.cache["png"]["computed"] == 1
    assert any("corrupt or foreign entries ignored" in w for w in report.warnings)
    assert output_files(root / "b") == output_files(root / "a")


def test_entry_checks_key_size_and_hash():
    blob = encode_entry("png-ab", b"payload", ["w"])
    assert decode_entry("png-ab", blob) == (b"payload", ["w"])
    assert decode_entry("png-cd", blob) is None            # another key's entry
    assert decode_entry("png-ab", blob[:-1]) is None       # truncated
    assert decode_entry("png-ab", blob[:-1] + b"X") is None  # flipped byte
    assert decode_entry("png-ab", b"garbage") is None


def test_cached_twin_must_decompress_to_the_file(tmp_path):
    """A well-formed entry whose twin is of other bytes is not used."""
    import gzip
    root = _site(tmp_path)
    build_dir(_config(root, "a"))
    content = next((root / "a" / "js").glob("app.v*.js")).read_bytes()
    key = gzip_key(content, 9)
    forged = encode_entry(key, gzip.compress(b"alert('not this file')", mtime=0))
    cfg = _config(root, "b")
    shutil.copytree(_cache_of(root, "a"), _cache_of(root, "b"))
    Path(entry_path(_cache_of(root, "b"), key)).write_bytes(forged)
    report = build_dir(cfg)
    assert report.cache["gzip"]["computed"] == 1
    assert output_files(root / "b") == output_files(root / "a")


def test_json_report_has_the_cache_counters(tmp_path):
    root = _site(tmp_path)
    result = run_cli(["build", "--json", "--config", str(_config(root, "out"))])
    assert result.returncode == 0, result.stderr
    cache = json.loads(result.stdout)["cache"]
    assert {k: cache[k]["computed"] for k in KINDS} == {"png": 1, "min": 2, "gzip": 2, "br": 2}
    assert "remote" not in cache   # no [cache] remote configured


def test_scans_are_cached_and_a_forged_scan_is_not_used(tmp_path):
    """The reference scan of each CSS/JS source is a cached result (kind
    "scan"); an entry with a sound header but references that do not fit
    the text is rejected, rescanned, and the output is the same."""
    from assetpipe.cache import scan_key
    root = _site(tmp_path)
    first = build_dir(_config(root, "a"))
    assert first.cache["scan"] == {"local": 0, "remote": 0, "computed": 2}
    css = (root / "static" / "css" / "site.css").read_text()
    key = scan_key("css", css)
    assert Path(entry_path(_cache_of(root, "a"), key)).is_file()
    cfg = _config(root, "b")
    shutil.copytree(_cache_of(root, "a"), _cache_of(root, "b"))
    again = build_dir(cfg)
    assert again.cache["scan"] == {"local": 2, "remote": 0, "computed": 0}
    forged = json.dumps([["url", "../img/logo.png", len(css) + 5, len(css) + 9, 2]])
    cfg = _config(root, "c")
    shutil.copytree(_cache_of(root, "a"), _cache_of(root, "c"))
    Path(entry_path(_cache_of(root, "c"), key)).write_bytes(encode_entry(key, forged.encode()))
    report = build_dir(cfg)
    assert report.cache["scan"]["computed"] == 1
    assert any("corrupt or foreign entries ignored" in w for w in report.warnings)
    assert output_files(root / "c") == output_files(root / "a")
