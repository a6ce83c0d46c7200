"""Issue 12's catalogue: "nothing published is ever wrong", one test per hole.

Each test reproduces a case an adversarial run found (it failed on the code
before the fix).  Item -> tests:

1. tool-owned names: test_pwa_manifest_json_is_versioned_but_never_replaces_the_manifest,
   test_bundle_named_manifest_json_gets_no_plain_copy,
   test_prune_refuses_a_manifest_that_is_not_ours,
   test_pwa_site_syncs_with_prune_twice_and_keeps_everything_referenced (acceptance, moto_server)
2. output/DEST guards: test_output_at_the_filesystem_root_is_refused,
   test_output_through_a_symlink_into_the_source_is_refused,
   test_pages_output_through_a_symlink_into_the_source_is_refused,
   test_sync_dest_inside_the_source_is_refused
3. mtime strategy: test_mtime_same_length_edit_with_the_same_mtime_never_publishes_old_bytes
4. look-alike versioned names: test_source_named_like_a_versioned_file_is_refused,
   test_bundle_named_like_a_versioned_file_is_refused,
   test_sync_treats_a_look_alike_the_build_never_made_as_a_plain_name
5. twin collisions: test_source_occupying_a_twin_name_is_refused
6. page paths: test_page_paths_on_tool_or_versioned_names_are_refused,
   test_page_on_an_asset_twin_name_is_refused
7. history order: test_local_history_is_ordered_by_sequence_not_clock,
   test_prune_is_not_fooled_by_a_clock_running_ahead, test_old_time_named_history_entries_still_read
   (and test_sync_plan.py::test_history_selection_counts_the_current_manifest)
8. (the JS minifier check) is issue 14's work, not here.
9. convergence: test_kill_after_the_manifest_swap_still_removes_the_stale_copy,
   test_switching_keep_unversioned_off_removes_plain_copies,
   test_killed_builds_converge / test_killed_syncs_converge (acceptance: 20 + 10 kills)
10. url_prefix: test_url_prefix_without_trailing_slash_is_normalised,
   test_relative_url_prefix_is_refused
11. non-UTF-8 CSS: test_non_utf8_css_is_synced_without_a_utf8_charset (moto_server),
   test_transforms.py::test_text_that_is_not_utf8_is_marked_in_the_manifest,
   test_servers.py::test_text_that_is_not_utf8_is_never_announced_as_utf8 (Apache, nginx,
   Caddy; versioned and plain names, identity and twins; --check agrees),
   test_servers.py::test_rules_made_before_the_build_announce_latin1_as_utf8_and_check_says_so,
   test_apache.py::test_text_that_is_not_utf8_is_never_announced_as_utf8 (--htaccess too),
   test_cors_browser.py::test_latin1_stylesheet_reads_cafe_in_chromium (computed `content`)
Crashes -> clear errors: test_crash_cases_are_one_line_errors (parametrised),
   test_corrupt_state_is_discarded,
   test_manifest_load_rejects_a_non_manifest, test_disk_full_names_the_file
Also: test_folder_sync_sweeps_dead_temp_files,
   test_sourcemap_comment_after_code_on_the_last_line_is_rewritten,
   test_dangling_sourcemap_comment_after_code_is_cut_keeping_the_code,
   test_build_references.py::test_import_cycle_is_an_error_naming_it (file:line of each hop),
   test_apache.py::test_rules_work_under_a_parent_options_none (real Apache),
   test_sync_state_is_kept_outside_the_public_prefix,
   test_state_left_under_the_public_prefix_is_read_then_moved,
   test_pages_every_has_a_minimum, test_huge_png_is_skipped_within_a_memory_budget,
   test_manifest_url_keeps_query_and_fragment
"""
from __future__ import annotations

import contextlib
import json
import os
import random
import re
import resource
import shutil
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from conftest import (
    REPO,
    build_dir,
    load_manifest,
    manifest_problems,
    published_files,
    run_cli,
    state_dir,
    temp_litter,
    write_config,
    write_tree,
)
from test_build import _kill_build_group
from test_sync import bucket, s3_endpoint  # noqa: F401  (fixtures)

from assetpipe.cli import main
from assetpipe.config import load_config
from assetpipe.errors import BuildError, UsageError
from assetpipe.manifest import Manifest
from assetpipe.policy import TEMP_PREFIX, is_versioned

PWA = {
    "manifest.json": json.dumps({"name": "Demo", "start_url": "/", "display": "standalone",
                                 "icons": [{"src": "icons/192.png", "sizes": "192x192"}]}),
    "sw.js": "self.addEventListener('fetch', function (e) { e.respondWith(fetch(e.request)); });\n",
    "icons/192.png": b"\x89PNG\r\n\x1a\n" + b"\0" * 64,
    "js/app.js": "navigator.serviceWorker.register('/static/sw.js');\n" * 20,
    "css/site.css": "body { color: #333; }\n" * 20,
}


def manifest_problem(doc) -> str | None:
    """Independent of assetpipe.manifest's own check: the build's manifest shape."""
    ok = (isinstance(doc, dict) and doc.get("manifest_version") == 1
          and isinstance(doc.get("assets"), dict)
          and all(isinstance(e, dict) and isinstance(e.get("path"), str)
                  for e in doc["assets"].values()))
    return None if ok else "not an assetpipe manifest"


def site(tmp_path: Path, files: dict, extra: str = "") -> Path:
    write_tree(tmp_path / "static", files)
    return write_config(tmp_path, extra=extra)


class Killed(BaseException):
    """Stands for SIGKILL at one exact moment (a real kill cannot aim this precisely)."""


def touch(path: Path) -> None:
    """New mtime, same bytes: the build redoes the file, its manifest stays the same."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def cli(*args) -> int:
    return main([str(a) for a in args])


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: "), err
    assert "Traceback" not in err
    return err


# --- 1. tool-owned names ----------------------------------------------------------

def test_pwa_manifest_json_is_versioned_but_never_replaces_the_manifest(tmp_path, capsys):
    cfg = site(tmp_path, PWA)
    assert cli("build", "--config", cfg) == 0
    out = tmp_path / "out"
    doc = load_manifest(out)
    assert manifest_problem(doc) is None
    entry = doc["assets"]["manifest.json"]
    assert (out / entry["path"]).read_bytes() == PWA["manifest.json"].encode()
    assert not any((out / ("manifest.json" + s)).exists() for s in (".gzip", ".gz", ".br"))
    assert "manifest.json: this name belongs to the build manifest" in capsys.readouterr().err
    touch(tmp_path / "static" / "sw.js")   # a rebuild whose manifest does not change
    assert cli("build", "--config", cfg) == 0
    assert manifest_problem(load_manifest(out)) is None


def test_bundle_named_manifest_json_gets_no_plain_copy(tmp_path, monkeypatch):
    from assetpipe import publish
    cfg = site(tmp_path, {"a.json": '{"a": 1}', "b.json": '{"b": 2}'},
               '[[bundle]]\nname = "manifest.json"\nfiles = ["a.json", "b.json"]\n')
    build_dir(cfg)
    (tmp_path / "static" / "a.json").write_text('{"a": 2}')

    def die(output, content):   # killed just before the manifest swap
        raise Killed()
    monkeypatch.setattr(publish, "publish_manifest", die)
    with pytest.raises(Killed):
        build_dir(cfg)
    assert manifest_problem(load_manifest(tmp_path / "out")) is None, "the previous state broke"
    monkeypatch.undo()
    build_dir(cfg)
    doc = load_manifest(tmp_path / "out")
    assert manifest_problem(doc) is None and "manifest.json" in doc["assets"]


def test_prune_refuses_a_manifest_that_is_not_ours(tmp_path, capsys):
    cfg = site(tmp_path, {"a.js": "var a = 1;\n"})
    build_dir(cfg)
    dest = tmp_path / "dest"
    assert cli("sync", dest, "--config", cfg) == 0
    before = sorted(p.name for p in dest.rglob("*"))
    (tmp_path / "out" / "manifest.json").write_text(PWA["manifest.json"])
    assert cli("sync", dest, "--config", cfg, "--prune", "--keep", "1") == 1
    assert "not an assetpipe manifest" in one_line_error(capsys)
    assert sorted(p.name for p in dest.rglob("*")) == before
    # Without --prune the file is published as an ordinary file (a plain folder's PWA).
    assert cli("sync", dest, "--config", cfg) == 0


def test_pwa_site_syncs_with_prune_twice_and_keeps_everything_referenced(  # noqa: F811
        tmp_path, s3_endpoint, bucket):  # noqa: F811
    client, name = bucket
    cfg = site(tmp_path, PWA)
    out = tmp_path / "out"
    dest = f"s3://{name}/static"
    for round_no in range(2):
        if round_no:
            (tmp_path / "static" / "js" / "app.js").write_text("var changed = 2;\n" * 20)
        assert cli("build", "--config", cfg) == 0
        touch(tmp_path / "static" / "sw.js")
        assert cli("build", "--config", cfg) == 0
        assert cli("sync", dest, "--config", cfg, "--endpoint-url", s3_endpoint,
                   "--prune", "--keep", "1") == 0
        objects = client.list_objects_v2(Bucket=name, Prefix="static/").get("Contents", [])
        listed = {o["Key"][len("static/"):] for o in objects}
        doc = json.loads(client.get_object(Bucket=name, Key="static/manifest.json")["Body"].read())
        assert doc == load_manifest(out), round_no
        for logical, entry in doc["assets"].items():
            assert entry["path"] in listed, (round_no, logical)
            assert set(entry["encodings"].values()) <= listed, (round_no, logical)
        assert "sw.js" in listed and "manifest.json" in listed


# --- 2. output and DEST guards ----------------------------------------------------

def test_output_at_the_filesystem_root_is_refused(tmp_path):
    write_tree(tmp_path / "static", {"a.js": "1"})
    with pytest.raises(UsageError, match="output"):
        load_config(str(write_config(tmp_path, output="/")))


def test_output_through_a_symlink_into_the_source_is_refused(tmp_path):
    write_tree(tmp_path / "static", {"a.js": "1"})
    (tmp_path / "static" / "build").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "static" / "build")
    with pytest.raises(UsageError, match="inside source"):
        load_config(str(write_config(tmp_path, output="link")))


def test_pages_output_through_a_symlink_into_the_source_is_refused(tmp_path):
    write_tree(tmp_path / "static", {"a.js": "1"})
    (tmp_path / "link").symlink_to(tmp_path / "static")
    cfg = write_config(tmp_path, extra='[pages]\noutput = "link/pages"\n')
    with pytest.raises(UsageError, match="pages.output"):
        load_config(str(cfg))


def test_sync_dest_inside_the_source_is_refused(tmp_path, capsys):
    cfg = site(tmp_path, {"a.js": "var a = 1;\n"})
    build_dir(cfg)
    assert cli("sync", tmp_path / "static" / "mirror", "--config", cfg) == 2
    assert "inside the build's source folder" in one_line_error(capsys)
    assert not (tmp_path / "static" / "mirror").exists()


# --- 3. mtime strategy ------------------------------------------------------------

def test_mtime_same_length_edit_with_the_same_mtime_never_publishes_old_bytes(tmp_path, capsys):
    cfg = site(tmp_path, {"js/a.js": "var a = 1;\n"}, '[versioning]\nstrategy = "mtime"\n')
    src = tmp_path / "static" / "js" / "a.js"
    build_dir(cfg)
    mtime = src.stat().st_mtime_ns
    fresh = src.with_name("fresh.tmp")   # a new inode, as tar -x or cp -p into place gives
    fresh.write_text("var a = 2;\n")
    os.utime(fresh, ns=(mtime, mtime))
    os.replace(fresh, src)
    assert cli("build", "--config", cfg) == 0
    out = tmp_path / "out"
    assert manifest_problems(out) == []
    entry = load_manifest(out)["assets"]["js/a.js"]
    assert (out / entry["path"]).read_bytes() == b"var a=2;"
    assert "versioned by content hash" in capsys.readouterr().err


# --- 4. look-alike versioned names ------------------------------------------------

@pytest.mark.parametrize("name", ["js/a.v0123456789.js", "notes.v20241219.txt",
                                  "LICENSE.vdeadbeef"])
def test_source_named_like_a_versioned_file_is_refused(tmp_path, capsys, name):
    cfg = site(tmp_path, {"js/a.js": "var a = 1;\n", name: "x"})
    assert cli("build", "--config", cfg) == 1
    err = one_line_error(capsys)
    assert name in err and "looks versioned" in err
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_bundle_named_like_a_versioned_file_is_refused(tmp_path):
    cfg = site(tmp_path, {"a.js": "1"},
               '[[bundle]]\nname = "all.vfd3929014b.js"\nfiles = ["a.js"]\n')
    with pytest.raises(UsageError, match=r"bundle\[0\].name.*looks versioned"):
        load_config(str(cfg))


def test_sync_treats_a_look_alike_the_build_never_made_as_a_plain_name(tmp_path):
    """The build refuses such sources, but a file copied into the output by hand is
    judged by the build's records (manifest + history), not by its name."""
    cfg = site(tmp_path, {"a.js": "var a = 1;\n"})
    build_dir(cfg)
    hand = tmp_path / "out" / "notes.v20241219.txt"
    hand.write_text("first\n")
    dest = tmp_path / "dest"
    args = ["sync", dest, "--config", cfg, "--prune", "--keep", "1"]
    assert cli(*args) == 0
    hand.write_text("other\n")   # same size: a by-size check would skip it
    assert cli(*args) == 0
    assert (dest / "notes.v20241219.txt").read_text() == "other\n"
    versioned = load_manifest(tmp_path / "out")["assets"]["a.js"]["path"]
    assert (dest / versioned).exists()


# --- 5. twin collisions -----------------------------------------------------------

@pytest.mark.parametrize("suffix", [".gz", ".gzip", ".br"])
def test_source_occupying_a_twin_name_is_refused(tmp_path, capsys, suffix):
    cfg = site(tmp_path, {"main.js": "var main = 1;\n" * 50, "main.js" + suffix: b"\x1f\x8bstale"},
               '[compress]\ngzip_suffix = ".gz"\n')
    assert cli("build", "--config", cfg) == 1
    err = one_line_error(capsys)
    assert "main.js" + suffix in err and "twin of 'main.js'" in err


# --- 6. page paths ----------------------------------------------------------------

@pytest.mark.parametrize("path, why", [
    ("manifest.json", "belongs to the build manifest"),
    (".assetpipe/state.json", "dot-named"),
    ("js/a.v0123456789.js", "looks versioned"),
])
def test_page_paths_on_tool_or_versioned_names_are_refused(tmp_path, path, why):
    cfg = site(tmp_path, {"js/a.js": "1"},
               f'[pages]\n[[pages.page]]\ntemplate = "i.html"\npath = "{path}"\n')
    with pytest.raises(UsageError, match=why):
        load_config(str(cfg))


def test_page_on_an_asset_twin_name_is_refused(tmp_path):
    cfg = site(tmp_path, {"js/a.js": "var a = 1;\n" * 50},
               '[pages]\n[[pages.page]]\ntemplate = "i.html"\npath = "js/a.js.gzip"\n')
    with pytest.raises(BuildError, match="or its twin"):
        build_dir(cfg)


# --- 7. history order -------------------------------------------------------------

def _clock(monkeypatch, seconds: float) -> None:
    from assetpipe import history
    monkeypatch.setattr(history.time, "time", lambda: seconds)


def test_local_history_is_ordered_by_sequence_not_clock(tmp_path, monkeypatch):
    from assetpipe import history
    cfg = site(tmp_path, {"a.js": "var a = 0;\n"})
    out, state = str(tmp_path / "out"), str(state_dir(cfg))
    paths = []
    for i, clock in enumerate((2.0e9, 1.9e9, 1.8e9)):   # the clock runs backwards
        (tmp_path / "static" / "a.js").write_text(f"var a = {i};\n")
        _clock(monkeypatch, clock)
        build_dir(cfg)
        paths.append(load_manifest(Path(out))["assets"]["a.js"]["path"])
    assert [sorted(e.paths & set(paths)) for e in history.entries(state)] == [[p] for p in paths]
    from assetpipe.clean import plan_clean
    assert plan_clean(out, state, keep=2, min_age=0, now=2.1e9).files == [paths[0]]


def test_prune_is_not_fooled_by_a_clock_running_ahead(tmp_path):
    cfg = site(tmp_path, {"a.js": "var a = 0;\n"})
    dest = tmp_path / "dest"
    live = []
    for i in range(3):
        (tmp_path / "static" / "a.js").write_text(f"var a = {i};\n")
        build_dir(cfg)
        live.append(load_manifest(tmp_path / "out")["assets"]["a.js"]["path"])
        assert cli("sync", dest, "--config", cfg, "--prune", "--keep", "2") == 0
        if i == 0:   # the first deploy came from a machine whose clock ran a day ahead
            for entry in (dest / ".assetpipe" / "manifests").iterdir():
                ahead = time.strftime("%Y%m%dT%H%M%S.000000Z", time.gmtime(time.time() + 86400))
                entry.rename(entry.with_name(re.sub(r"\d{8}T\d{6}\.\d{6}Z", ahead, entry.name)))
    assert (dest / live[1]).exists(), "the previous deploy's live file was pruned"
    assert (dest / live[2]).exists() and not (dest / live[0]).exists()


def test_old_time_named_history_entries_still_read(tmp_path):
    from assetpipe import history
    cfg = site(tmp_path, {"a.js": "var a = 0;\n"})
    build_dir(cfg)
    folder = state_dir(cfg) / history.HISTORY_DIR
    (new,) = os.listdir(folder)
    os.rename(folder / new, folder / ("29990101T000000.000000Z-" + new.rsplit("-", 1)[1]))
    (tmp_path / "static" / "a.js").write_text("var a = 1;\n")
    build_dir(cfg)
    names = [e.name for e in history.entries(str(state_dir(cfg)))]
    assert names[0].startswith("2999") and names[1].startswith("s000000001-")


# --- 9. convergence ---------------------------------------------------------------

def test_kill_after_the_manifest_swap_still_removes_the_stale_copy(tmp_path, monkeypatch):
    from assetpipe import publish
    cfg = site(tmp_path, {"a.js": "var a = 1;\n", "gone.js": "var gone = 1;\n" * 40})
    build_dir(cfg)
    out = tmp_path / "out"
    assert (out / "gone.js").exists()
    (tmp_path / "static" / "gone.js").unlink()
    real = publish.publish_manifest

    def swap_then_die(output, content):
        real(output, content)
        raise Killed()
    monkeypatch.setattr(publish, "publish_manifest", swap_then_die)
    with pytest.raises(Killed):
        build_dir(cfg)
    monkeypatch.setattr(publish, "publish_manifest", real)
    build_dir(cfg)
    assert not (out / "gone.js").exists() and not (out / "gone.js.gzip").exists()
    assert "gone.js" not in load_manifest(out)["assets"]


def test_switching_keep_unversioned_off_removes_plain_copies(tmp_path):
    cfg = site(tmp_path, {"a.js": "var a = 1;\n" * 40, "b.txt": "b"})
    build_dir(cfg)
    out = tmp_path / "out"
    assert (out / "a.js").exists() and (out / "a.js.gzip").exists()
    write_config(tmp_path, extra="[versioning]\nkeep_unversioned = false\n")
    build_dir(cfg)
    plain = [n for n in published_files(out) if not is_versioned(n) and n != "manifest.json"]
    assert plain == []
    assert manifest_problems(out) == []


# --- 10. url_prefix ---------------------------------------------------------------

def test_url_prefix_without_trailing_slash_is_normalised(tmp_path):
    cfg = site(tmp_path, {"css/site.css": "a{}"}, 'url_prefix = "/static"\n')
    build_dir(cfg)
    url = Manifest.load(tmp_path / "out" / "manifest.json").url("css/site.css")
    assert url.startswith("/static/css/site.v")


@pytest.mark.parametrize("prefix", ["", "static/"])
def test_relative_url_prefix_is_refused(tmp_path, prefix):
    cfg = site(tmp_path, {"a.css": "a{}"})
    cfg.write_text(f'url_prefix = "{prefix}"\n' + cfg.read_text())
    with pytest.raises(UsageError, match="url_prefix"):
        load_config(str(cfg))


# --- 11. non-UTF-8 text -----------------------------------------------------------

def test_non_utf8_css_is_synced_without_a_utf8_charset(tmp_path, s3_endpoint, bucket):  # noqa: F811
    client, name = bucket
    latin1 = "a:after { content: '\xe9t\xe9'; }\n".encode("latin-1")
    cfg = site(tmp_path, {"latin1.css": latin1 * 30,
                          "ok.css": "a:after { content: 'été'; }\n" * 30})
    build_dir(cfg)
    assert cli("sync", f"s3://{name}/static", "--config", cfg, "--endpoint-url", s3_endpoint) == 0
    assets = load_manifest(tmp_path / "out")["assets"]

    def ctype(key):
        return client.head_object(Bucket=name, Key=f"static/{key}")["ContentType"]
    entry = assets["latin1.css"]
    for key in ("latin1.css", entry["path"], entry["encodings"]["gzip"]):
        assert ctype(key) == "text/css", key
    assert ctype(assets["ok.css"]["path"]) == "text/css; charset=utf-8"   # negative control


# --- also: the sync state is not public -------------------------------------------

def _bucket_keys(client, name) -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=name)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def test_sync_state_is_kept_outside_the_public_prefix(tmp_path, s3_endpoint, bucket):  # noqa: F811
    client, name = bucket
    cfg = site(tmp_path, {"a.js": "var a = 1;\n"})
    build_dir(cfg)
    assert cli("sync", f"s3://{name}/static", "--config", cfg, "--endpoint-url", s3_endpoint) == 0
    keys = _bucket_keys(client, name)
    assert not [k for k in keys if k.startswith("static/.")], keys
    assert ".assetpipe/static/index.json" in keys
    assert any(k.startswith(".assetpipe/static/manifests/s000000001-") for k in keys)


def test_state_left_under_the_public_prefix_is_read_then_moved(tmp_path, s3_endpoint, bucket):  # noqa: F811
    client, name = bucket
    cfg = site(tmp_path, {"a.js": "var a = 1;\n"})
    build_dir(cfg)
    first = load_manifest(tmp_path / "out")["assets"]["a.js"]["path"]
    legacy = cfg.read_text()
    cfg.write_text(legacy + '\n[sync]\nstate_prefix = "static/.assetpipe"\n')   # the old layout
    args = ["sync", f"s3://{name}/static", "--config", cfg, "--endpoint-url", s3_endpoint]
    assert cli(*args) == 0
    assert "static/.assetpipe/index.json" in _bucket_keys(client, name)
    cfg.write_text(legacy)
    (tmp_path / "static" / "a.js").write_text("var a = 2;\n")
    build_dir(cfg)
    assert cli(*args, "--prune", "--keep", "2") == 0
    keys = _bucket_keys(client, name)
    assert f"static/{first}" in keys, "the previous deploy (recorded in the old place) was pruned"
    assert not [k for k in keys if k.startswith("static/.")], keys
    assert len([k for k in keys if k.startswith(".assetpipe/static/manifests/")]) == 2


# --- crashes become one-line errors -------------------------------------------------

def _binary_toml(tmp_path):
    (tmp_path / "assetpipe.toml").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    return ["build", "--config", tmp_path / "assetpipe.toml"], 2, "assetpipe.toml"


def _pyproject(text):
    def make(tmp_path):
        (tmp_path / "pyproject.toml").write_text(text)
        return ["build", "--config", tmp_path / "pyproject.toml"], 2, "tool.assetpipe"
    return make


def _bad_file_name(tmp_path):
    cfg = site(tmp_path, {"a.js": "1"})
    (tmp_path / "static" / "bad\udcff.txt").write_text("x")
    return ["build", "--config", cfg], 1, "not valid UTF-8"


def _history_entry(tmp_path):
    from assetpipe import history
    cfg = site(tmp_path, {"a.js": "1"})
    build_dir(cfg)
    name = "20260101T000000.000000Z-0123456789abcdef.json"
    (state_dir(cfg) / history.HISTORY_DIR / name).write_text('{"assets": []}')
    return ["clean", "--config", cfg], 1, name


def _bundle_over_folder(tmp_path):
    cfg = site(tmp_path, {"js/a.js": "1"}, '[[bundle]]\nname = "js"\nfiles = ["js/a.js"]\n')
    return ["build", "--config", cfg], 1, "bundle 'js'"


def _apache_into_folder(tmp_path):
    cfg = site(tmp_path, {"a.js": "1"})
    (tmp_path / "rules").mkdir()
    return ["apache", "--config", cfg, "-o", tmp_path / "rules"], 1, "rules: is a folder"


def _dest_is_a_file(tmp_path):
    cfg = site(tmp_path, {"a.js": "1"})
    build_dir(cfg)
    (tmp_path / "dest").write_text("")
    return ["sync", tmp_path / "dest", "--config", cfg], 2, "is a file"


@pytest.mark.parametrize("case", [
    _binary_toml, _pyproject("tool = 5\n"), _pyproject("[tool]\nassetpipe = 5\n"), _bad_file_name,
    _history_entry, _bundle_over_folder, _apache_into_folder, _dest_is_a_file,
], ids=["binary-toml", "tool-5", "tool-assetpipe-5", "file-name", "history-entry",
        "bundle-over-folder", "apache-o-folder", "dest-file"])
def test_crash_cases_are_one_line_errors(tmp_path, capsys, case):
    argv, status, named = case(tmp_path)
    capsys.readouterr()
    assert cli(*argv) == status
    err = one_line_error(capsys)
    assert named in err and ".assetpipe-tmp-" not in err and "internal error" not in err, err


@pytest.mark.parametrize("file, content", [
    ("state/state.json", "[]"), ("state/fingerprint", "[]"),
    ("manifest.json", '{"manifest_version": 1, "assets": []}'),
    ("manifest.json", '{"manifest_version": 1, "assets": {"x": {}}}'),
    ("state/state.json",
     '{"format": 1, "settings": "%s", "assets": {"a.js": {"stat": 1}}, "links": {}}'),
])
def test_corrupt_state_is_discarded(tmp_path, file, content):
    from assetpipe.build import settings_for
    cfg = site(tmp_path, {"a.js": "var a = 1;\n", "b.css": "b{}"})
    build_dir(cfg)
    out = tmp_path / "out"
    expected = load_manifest(out)["assets"]
    if "%s" in content:
        content = content % settings_for(load_config(str(cfg))).key()
    target = state_dir(cfg) / file[len("state/"):] if file.startswith("state/") else out / file
    target.write_text(content)
    (tmp_path / "static" / "b.css").write_text("b{color:red}")   # not a no-op
    assert cli("build", "--config", cfg) == 0
    assert manifest_problems(out) == []
    assert load_manifest(out)["assets"]["a.js"] == expected["a.js"]


def test_manifest_load_rejects_a_non_manifest(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="not an assetpipe manifest"):
        Manifest.load(path)


def test_disk_full_names_the_file(tmp_path):
    """RLIMIT_FSIZE makes write() fail like a full disk (EFBIG instead of ENOSPC,
    same code path: an OSError without a file name)."""
    cfg = site(tmp_path, {"big.txt": "x" * 200_000})

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        # Above what the state database's log needs to be created (~60 KB of
        # 4 KiB pages), below the 200 KB file: the asset's write is what fails.
        resource.setrlimit(resource.RLIMIT_FSIZE, (120_000, 120_000))
    proc = run_cli(["build", "--config", str(cfg), "--jobs", "1"], preexec_fn=limit)
    assert proc.returncode == 1, proc.stderr
    assert "big.v" in proc.stderr and "File too large" in proc.stderr, proc.stderr
    assert proc.stderr.strip().count("\n") == 0


# --- also ---------------------------------------------------------------------------

def test_folder_sync_sweeps_dead_temp_files(tmp_path):
    cfg = site(tmp_path, {"a.js": "var a = 1;\n"})
    build_dir(cfg)
    dest = tmp_path / "dest" / "js"
    dest.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (dest / f"{TEMP_PREFIX}{dead}-0000-a.js").write_text("half")
    (dest / f"{TEMP_PREFIX}{os.getpid()}-0000-b.js").write_text("in flight")   # a live writer's
    assert cli("sync", tmp_path / "dest", "--config", cfg) == 0
    assert temp_litter(tmp_path / "dest") == [f"js/{TEMP_PREFIX}{os.getpid()}-0000-b.js"]


def test_pages_every_has_a_minimum(tmp_path, capsys):
    cfg = site(tmp_path, {"a.js": "1"},
               '[pages]\n[[pages.page]]\ntemplate = "i.html"\npath = "i.html"\n')
    try:   # before the minimum this spun until killed
        proc = run_cli(["pages", "--config", str(cfg), "--every", "1e-9"], timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("pages --every 1e-9 kept running")
    assert proc.returncode == 2 and "--every" in proc.stderr, proc.stderr
    cfg.write_text(cfg.read_text().replace("[pages]\n", "[pages]\nevery = 0.001\n"))
    assert cli("pages", "--config", cfg, "--once") == 2
    assert "pages.every" in one_line_error(capsys)


def _png(width: int, height: int) -> bytes:
    """A valid grey 8-bit PNG of any size, tiny on disk (all-zero rows)."""
    def chunk(kind, data):
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc
    rows = zlib.compress(b"\0" * ((width + 1) * height), 9)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows)
            + chunk(b"IEND", b""))


def test_huge_png_is_skipped_within_a_memory_budget(tmp_path):
    big = _png(9000, 9000)
    write_tree(tmp_path / "static", {"big.png": big})
    cfg = write_config(tmp_path, png_off=False)
    code = ("import resource, sys; from assetpipe.cli import main; rc = main(sys.argv[1:]); "
            "print(max(resource.getrusage(w).ru_maxrss for w in "
            "(resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))); sys.exit(rc)")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", code, "build", "--config", str(cfg),
                           "--jobs", "2"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "pixel budget" in proc.stderr
    assert int(proc.stdout.split()[-1]) < 400_000, "peak RSS (kB) of the build and its workers"
    out = tmp_path / "out"
    assert (out / load_manifest(out)["assets"]["big.png"]["path"]).read_bytes() == big


def test_manifest_url_keeps_query_and_fragment(tmp_path):
    cfg = site(tmp_path, {"css/x.css": "a{}"})
    build_dir(cfg)
    m = Manifest.load(tmp_path / "out" / "manifest.json")
    assert m.url("css/x.css?v=1#f") == m.url("css/x.css") + "?v=1#f"
    with pytest.raises(KeyError):
        m.url("css/missing.css?v=1")


# --- acceptance: random kills converge ----------------------------------------------

KILL_PACKAGES = ("font-awesome", "d3-format")   # CSS with url()s, JS, fonts: ~110 files, 1.7 MB


def _slice(corpus_dir: Path, dest: Path) -> None:
    for package in KILL_PACKAGES:
        shutil.copytree(corpus_dir / package, dest / package)


def _run(args: list[str]) -> None:
    proc = run_cli(args)
    assert proc.returncode == 0, proc.stderr


def _kill_at_random(args: list[str], delay: float) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "assetpipe", *args], env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=delay)   # the delay picks *when* to kill; it synchronizes nothing
    _kill_build_group(proc)


def _plain_files(output: Path) -> dict[str, bytes]:
    """Plain copies and their twins (the manifest differs by its `created` stamp)."""
    return {k: v for k, v in published_files(output).items()
            if not is_versioned(k) and k != "manifest.json"}


def _served(dest: Path) -> dict[str, bytes]:
    """A folder DEST's files without the sync's own state (index, history)."""
    return {k: v for k, v in published_files(dest).items() if not k.startswith(".assetpipe/")}


def _clone(src: Path, dst: Path) -> None:
    """Hard links are safe: every write replaces a file by rename, none edits one in place."""
    shutil.copytree(src, dst, copy_function=os.link)


@pytest.fixture(scope="module")
def kill_site(corpus_dir, tmp_path_factory):
    """An old build (minify off, with files since deleted) and the new tree's clean build."""
    root = tmp_path_factory.mktemp("kills")
    _slice(corpus_dir, root / "static")
    write_tree(root / "static", {f"gone/{i}.js": f"var gone{i} = {i};\n" * 200 for i in range(5)})
    old_cfg = write_config(root, output="old", extra="[minify]\njs = false\ncss = false\n")
    _run(["build", "--config", str(old_cfg)])
    shutil.rmtree(root / "static" / "gone")
    cfg = write_config(root, output="new")
    started = time.monotonic()
    _run(["build", "--config", str(cfg)])
    return root, time.monotonic() - started, state_dir(old_cfg)


def test_killed_builds_converge(kill_site, tmp_path):
    """20 kills at random moments: the previous state stays valid each time, and the rerun
    gives exactly what a clean build gives (manifest, plain copies: stale ones removed)."""
    root, cold_seconds, old_state = kill_site
    old_assets = load_manifest(root / "old")["assets"]
    expected = load_manifest(root / "new")["assets"]
    expected_plain = _plain_files(root / "new")
    rng = random.Random(1212)
    for round_no in range(20):
        out = tmp_path / f"out{round_no}"
        _clone(root / "old", out)
        shutil.copytree(old_state, tmp_path / f"state{round_no}")   # the old build's cache too
        cfg = write_config(tmp_path, source=root / "static", output=out.name,
                           extra=f'state_dir = "state{round_no}"\n', name=f"{round_no}.toml")
        delay = rng.uniform(0, cold_seconds * 1.2)
        where = f"round {round_no}, killed after {delay:.2f}s of {cold_seconds:.2f}s"
        _kill_at_random(["build", "--config", str(cfg), "--quiet"], delay)
        assert manifest_problems(out) == [], where
        assert load_manifest(out)["assets"] in (old_assets, expected), where
        _run(["build", "--config", str(cfg), "--quiet"])
        assert load_manifest(out)["assets"] == expected, where
        assert manifest_problems(out) == [] and temp_litter(out) == [], where
        assert _plain_files(out) == expected_plain, where


def test_killed_syncs_converge(kill_site, tmp_path):
    """10 kills of `sync --prune` into a folder: the destination's manifest always names
    files that are there, and the rerun leaves what an uninterrupted sync leaves."""
    root = kill_site[0]
    base = tmp_path / "base"
    args = ["--prune", "--keep", "1", "--quiet"]
    _run(["sync", str(base), "--source", str(root / "old"), *args])
    reference = tmp_path / "reference"
    _clone(base, reference)
    started = time.monotonic()
    _run(["sync", str(reference), "--source", str(root / "new"), *args])
    sync_seconds = time.monotonic() - started
    expected = _served(reference)
    old_manifest, new_manifest = load_manifest(root / "old"), load_manifest(root / "new")
    rng = random.Random(1213)
    for round_no in range(10):
        dest = tmp_path / f"dest{round_no}"
        _clone(base, dest)
        delay = rng.uniform(0, sync_seconds * 1.2)
        where = f"round {round_no}, killed after {delay:.2f}s of {sync_seconds:.2f}s"
        _kill_at_random(["sync", str(dest), "--source", str(root / "new"), *args], delay)
        assert manifest_problems(dest) == [], where
        assert load_manifest(dest) in (old_manifest, new_manifest), where
        _run(["sync", str(dest), "--source", str(root / "new"), *args])
        assert _served(dest) == expected, where
        assert temp_litter(dest) == [], where


# --- Also: a sourceMappingURL comment after code on the last line -------------------

def test_sourcemap_comment_after_code_on_the_last_line_is_rewritten(tmp_path):
    """`var fun;//# sourceMappingURL=lib.min.js.map` (shipped *.min.js): with
    keep_unversioned = false the comment must name the versioned map, and a
    look-alike inside a string is not a reference."""
    write_tree(tmp_path / "static", {
        "js/lib.min.js": "var fun;//# sourceMappingURL=lib.min.js.map",
        "js/lib.min.js.map": '{"version":3,"sources":[],"names":[],"mappings":""}',
        "js/str.min.js": 'var s="x";var t="//# sourceMappingURL=lib.min.js.map"',
    })
    write_config(tmp_path, extra="[versioning]\nkeep_unversioned = false\n")
    build_dir(tmp_path / "assetpipe.toml", workers=1)
    out = tmp_path / "out"
    assets = load_manifest(out)["assets"]
    lib = (out / assets["js/lib.min.js"]["path"]).read_text()
    map_name = assets["js/lib.min.js.map"]["path"].rsplit("/", 1)[1]
    assert lib == f"var fun;//# sourceMappingURL={map_name}"
    assert (out / "js" / map_name).is_file()
    assert (out / assets["js/str.min.js"]["path"]).read_text() == \
        'var s="x";var t="//# sourceMappingURL=lib.min.js.map"'


def test_dangling_sourcemap_comment_after_code_is_cut_keeping_the_code(tmp_path):
    write_tree(tmp_path / "static", {"js/a.min.js": "var fun=1;//# sourceMappingURL=gone.map\n"})
    write_config(tmp_path)
    report = build_dir(tmp_path / "assetpipe.toml", workers=1)
    out = tmp_path / "out"
    assert (out / load_manifest(out)["assets"]["js/a.min.js"]["path"]).read_text() == \
        "var fun=1;\n"
    assert any("gone.map" in w for w in report.warnings)
