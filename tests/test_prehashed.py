"""[versioning] prehashed + vite_manifest: a real Vite build published through assetpipe.

The fixture (tests/fixtures/vite-site/dist) is real Vite 5 output: its
chunks import each other by their hashed names, so those names must be
kept, and cached as immutable by the servers like `.v<hex>` names.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import build_dir, load_manifest, manifest_problems, run_cli, write_config, write_tree

from assetpipe.policy import IMMUTABLE_CACHE_CONTROL, is_prehashed, is_versioned, prehashed_re

VITE_DIST = Path(__file__).parent / "fixtures" / "vite-site" / "dist"


def vite_config(source: Path, globs: str = '"assets/**"') -> str:
    return f'[versioning]\nprehashed = [{globs}]\nvite_manifest = "{source}/.vite/manifest.json"\n'


# `import{g as e}from"./main-Bj9fyi-p.js"` and `import("./lazy-DLO854Yq.js")`
IMPORT_RE = re.compile(r'(?:\bfrom\s*|\bimport\s*\(\s*)"(\./[^"]+)"')
DOUBLE_HASHED = re.compile(r"-[A-Za-z0-9_-]{8}\.v[0-9a-f]{8,32}\.")


def _source_with_extras(tmp_path: Path) -> Path:
    """The Vite dist plus one file outside the prehashed glob (the negative control)."""
    source = tmp_path / "dist"
    shutil.copytree(VITE_DIST, source)
    write_tree(source, {"robots.txt": "User-agent: *\n"})
    return source


def test_policy_globs_with_twins():
    globs = ("assets/**", "img/*-[0-9a-f]*.png")
    assert is_prehashed("assets/main-Bj9fyi-p.js", globs)
    assert is_prehashed("assets/deep/x.css.gzip", globs) and is_prehashed("assets/x.js.br", globs)
    assert is_prehashed("img/logo-3fa9.png", globs)
    assert not is_prehashed("img/logo.png", globs) and not is_prehashed("js/assets/x.js", globs)
    assert not is_prehashed("assets/main.js", ())
    assert is_versioned("assets/main-Bj9fyi-p.js", globs) and not is_versioned("robots.txt", globs)
    assert is_versioned("css/site.v1a2b3c4d5e.css", globs)  # the name rule still holds
    # One regex for the servers: anchored, with a prefix before the path.
    pattern = re.compile(prehashed_re(globs, re.escape("/static/")))
    assert pattern.match("/static/assets/a-b.js.gz") and not pattern.match("/assets/a-b.js")


def test_vite_build_keeps_names_bytes_and_lists_entries(tmp_path):
    source = _source_with_extras(tmp_path)
    cfg = write_config(tmp_path, source=source, extra=vite_config(source))
    report = build_dir(cfg)
    out = tmp_path / "out"
    manifest = load_manifest(out)["assets"]
    assert manifest_problems(out) == []
    vite_files = sorted(p.relative_to(VITE_DIST).as_posix()
                        for p in (VITE_DIST / "assets").iterdir())
    assert len(vite_files) == 4
    for name in vite_files:
        entry = manifest[name]
        assert entry["path"] == name and entry["prehashed"] is True
        assert (out / name).read_bytes() == (VITE_DIST / name).read_bytes()
    assert "gzip" in manifest["assets/main-Bj9fyi-p.js"]["encodings"]  # twins still made
    # No double-hashed name anywhere in the output.
    assert not [p for p in out.rglob("*") if DOUBLE_HASHED.search(p.name)]
    # The file outside the glob is versioned as usual (the control).
    assert re.fullmatch(r"robots\.v[0-9a-f]{10}\.txt", manifest["robots.txt"]["path"])
    assert "prehashed" not in manifest["robots.txt"]
    # Vite's entries under their logical (source) names.
    main = manifest["src/main.js"]
    assert main["path"] == "assets/main-Bj9fyi-p.js" and main["css"] == ["assets/main-dy6te-uQ.css"]
    assert main["integrity"] == manifest["assets/main-Bj9fyi-p.js"]["integrity"]
    assert manifest["src/lazy.js"]["path"] == "assets/lazy-DLO854Yq.js"
    assert manifest["src/logo.svg"]["path"] == "assets/logo-wYTczSSm.svg"
    assert not report.warnings
    # The schema accepts the kept names only with the flag.
    from test_manifest import _validator
    doc = load_manifest(out)
    assert [e.message for e in _validator().iter_errors(doc)] == []
    del doc["assets"]["assets/lazy-DLO854Yq.js"]["prehashed"]
    assert list(_validator().iter_errors(doc))
    # Every import between chunks names a file that is published.
    imports = [(js, target) for js in vite_files if js.endswith(".js")
               for target in IMPORT_RE.findall((out / js).read_text())]
    assert len(imports) >= 2, imports
    for js, target in imports:
        assert (out / "assets" / target).is_file(), (js, target)
    # Byte-identical rebuild from scratch.
    first = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()
             and p.name != "manifest.json"}
    shutil.rmtree(out)
    build_dir(cfg)
    assert {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()
            and p.name != "manifest.json"} == first


def test_vite_file_outside_the_globs_is_a_config_error(tmp_path):
    source = _source_with_extras(tmp_path)
    cfg = write_config(tmp_path, source=source, extra=vite_config(source, '"assets/*.css"'))
    result = run_cli(["build", "--config", str(cfg)])
    assert result.returncode == 2
    assert "versioning.prehashed: assets/lazy-DLO854Yq.js (from the Vite manifest" in result.stderr


def test_stale_vite_manifest_is_a_build_error(tmp_path):
    source = _source_with_extras(tmp_path)
    (source / "assets" / "lazy-DLO854Yq.js").unlink()
    cfg = write_config(tmp_path, source=source, extra=vite_config(source))
    result = run_cli(["build", "--config", str(cfg)])
    assert result.returncode == 1
    assert "entry 'src/lazy.js' names assets/lazy-DLO854Yq.js" in result.stderr
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_clean_and_sync_treat_prehashed_as_versioned(tmp_path):
    source = _source_with_extras(tmp_path)
    cfg = write_config(tmp_path, source=source, extra=vite_config(source))
    build_dir(cfg)
    out = tmp_path / "out"
    # An old Vite chunk no build refers to: clean removes it, as an old .v<hex> file.
    old = out / "assets" / "old-AbCdEf12.js"
    old.write_text("old chunk\n")
    result = run_cli(["clean", "--config", str(cfg), "--min-age", "0", "--dry-run"])
    assert result.returncode == 0, result.stderr
    assert "would remove assets/old-AbCdEf12.js" in result.stdout
    assert "assets/main-Bj9fyi-p.js" not in result.stdout  # live: protected
    assert "robots.txt\n" not in result.stdout  # plain copies never
    # Sync (without the config: the manifest's flag says it) marks them immutable.
    from assetpipe.config import Sync
    from assetpipe.sync_scan import scan_output
    _, _, local = scan_output(str(out), Sync())
    meta = {f.key: f for f in local}
    assert meta["assets/main-Bj9fyi-p.js"].versioned
    assert "immutable" in meta["assets/main-Bj9fyi-p.js"].meta.cache_control
    assert "immutable" in meta["assets/main-Bj9fyi-p.js.gzip"].meta.cache_control
    assert "immutable" not in meta["robots.txt"].meta.cache_control
    assert "immutable" not in meta["assets/old-AbCdEf12.js"].meta.cache_control  # not in manifest


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["apache", "nginx", "caddy"])
def test_servers_cache_vite_chunks_immutable_and_imports_resolve(kind, tmp_path):
    """Real Apache, nginx and Caddy; under a CDN prefix, so CORS is on too."""
    from test_servers import CDN, deploy
    source = _source_with_extras(tmp_path)
    site, server = deploy(kind, CDN, 'gzip_suffix = ".gz"\nbrotli = true',
                          vite_config(source), source=source)
    try:
        _check_served(site)
    finally:
        server.cleanup()


def _check_served(site) -> None:
    for name in ("assets/main-Bj9fyi-p.js", "assets/lazy-DLO854Yq.js",
                 "assets/main-dy6te-uQ.css", "assets/logo-wYTczSSm.svg"):
        for encoding in ("identity", "gzip", "br"):
            got = site.get(name, Accept_Encoding=encoding)
            assert got.status == 200 and got.header("Cache-Control") == IMMUTABLE_CACHE_CONTROL, (
                name, encoding, got.header("Cache-Control"))
            assert got.header("Access-Control-Allow-Origin") == "*", (name, encoding)
        assert site.get(name).body == (VITE_DIST / name).read_bytes()
    twin = site.get("assets/main-Bj9fyi-p.js", Accept_Encoding="gzip")
    assert twin.header("Content-Encoding") == "gzip"
    # Negative controls: a file outside the glob, and manifest.json, are short-cached;
    # a missing hashed name is a 404 without the year-long header.
    for short in ("robots.txt", "manifest.json"):
        got = site.get(short)
        assert got.status == 200 and got.header("Cache-Control") != IMMUTABLE_CACHE_CONTROL, short
    missing = site.get("assets/main-XXXXXXXX.js")
    assert missing.status == 404 and missing.header("Cache-Control") != IMMUTABLE_CACHE_CONTROL
    # The chunks' imports resolve on the server, by the names Vite gave them.
    main = site.get("assets/main-Bj9fyi-p.js").body.decode()
    lazy = site.get("assets/lazy-DLO854Yq.js").body.decode()
    targets = IMPORT_RE.findall(main) + IMPORT_RE.findall(lazy)
    assert sorted(set(targets)) == ["./lazy-DLO854Yq.js", "./main-Bj9fyi-p.js"]
    for target in targets:
        got = site.get("assets/" + target.removeprefix("./"))
        assert got.status == 200 and got.header("Cache-Control") == IMMUTABLE_CACHE_CONTROL
        assert "javascript" in got.header("Content-Type")
