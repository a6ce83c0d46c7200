"""assetpipe.build: the whole corpus, determinism, kills, incremental rebuilds."""
from __future__ import annotations

import builtins
import hashlib
import io
import os
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import (REPO, build_dir, load_manifest, manifest_problems, published_files,
                      temp_litter, write_config, write_tree)

UNTRANSFORMED = (".woff2", ".woff", ".ttf", ".eot", ".png", ".json", ".map", ".md", ".ts")
SOURCEMAP_LINE = re.compile(rb"^[ \t]*//[#@][ \t]+sourceMappingURL=\S*[ \t]*$", re.MULTILINE)


def corpus_sources(corpus: Path) -> set[str]:
    """Logical paths the build should publish: every file, minus dot-named ones."""
    found = set()
    for folder, dirs, files in os.walk(corpus):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        rel = Path(folder).relative_to(corpus)
        found.update((rel / f).as_posix() for f in files if not f.startswith("."))
    return found


def expected_versioned(logical: str, version: str) -> str:
    head, _, base = logical.rpartition("/")
    stem, dot, ext = base.rpartition(".")
    name = f"{stem}.v{version}.{ext}" if dot and stem else f"{base}.v{version}"
    return f"{head}/{name}" if head else name


# --- 1. the public corpus --------------------------------------------------------------------

def test_corpus_build_publishes_every_source_file(corpus_build, corpus_dir):
    _, report, output = corpus_build
    assets = load_manifest(output)["assets"]
    expected = corpus_sources(corpus_dir)
    assert set(assets) == expected
    assert report.files == len(expected) and report.processed == len(expected)
    assert report.warnings == []


def test_corpus_manifest_paths_are_versioned_names_of_their_content(corpus_build):
    _, _, output = corpus_build
    assets = load_manifest(output)["assets"]
    cycles: dict[str, set[str]] = {}   # an import cycle shares one version (docs/modules.md)
    for logical, entry in assets.items():
        data = (output / entry["path"]).read_bytes()
        version = hashlib.sha256(data).hexdigest()[:10]
        if entry["path"] != expected_versioned(logical, version):
            cycles.setdefault(entry["path"].rsplit(".v", 1)[1][:10], set()).add(logical)
        assert entry["size"] == len(data)
    for members in cycles.values():
        assert len(members) > 1, members   # a version no content explains: only a cycle's
        for logical in members:
            assert set(assets[logical].get("imports", ())) & members, (logical, members)


def test_corpus_versioned_name_without_extension(corpus_build):
    _, _, output = corpus_build
    path = load_manifest(output)["assets"]["lodash/LICENSE"]["path"]
    assert re.fullmatch(r"lodash/LICENSE\.v[0-9a-f]{10}", path)


def test_corpus_integrity_matches_bytes(corpus_build):
    _, _, output = corpus_build
    assert manifest_problems(output) == []


def test_corpus_untransformed_files_are_byte_identical(corpus_build, corpus_dir):
    _, _, output = corpus_build
    checked = 0
    for logical, entry in load_manifest(output)["assets"].items():
        source = (corpus_dir / logical).read_bytes()
        published = (output / entry["path"]).read_bytes()
        if logical.endswith(UNTRANSFORMED):
            assert published == source, logical
            checked += 1
        elif logical.endswith(".min.js"):
            # A copied *.min.js keeps its bytes; only its sourceMappingURL comment may be
            # rewritten to the map's versioned name (CSS/map reference rewriting, not tested here).
            assert SOURCEMAP_LINE.sub(b"", published) == SOURCEMAP_LINE.sub(b"", source), logical
            checked += 1
    assert checked > 700  # the corpus has ~700 PNGs alone: the filter did select files


def test_corpus_minified_js_is_smaller_and_drops_sourcemap_comment(corpus_build, corpus_dir):
    _, _, output = corpus_build
    entry = load_manifest(output)["assets"]["chart.js/dist/chart.umd.js"]
    source = (corpus_dir / "chart.js/dist/chart.umd.js").read_bytes()
    published = (output / entry["path"]).read_bytes()
    assert b"sourceMappingURL" in source and b"sourceMappingURL" not in published
    assert len(published) < len(source)


def test_corpus_unversioned_copies_match_versioned(corpus_build):
    _, _, output = corpus_build
    for logical, entry in load_manifest(output)["assets"].items():
        assert (output / logical).read_bytes() == (output / entry["path"]).read_bytes(), logical
        for twin in entry["encodings"].values():
            suffix = twin[len(entry["path"]):]
            assert (output / (logical + suffix)).read_bytes() == (output / twin).read_bytes()


def test_corpus_leaves_no_temp_files_and_no_state_in_the_output(corpus_build):
    config, _, output = corpus_build
    assert temp_litter(output) == []
    hidden = [str(p.relative_to(output)) for p in output.rglob(".*")]
    assert hidden == []
    # The state is kept beside the config instead, outside anything served.
    state = Path(config.state_dir)
    assert not state.is_relative_to(output) and (state / "state.json").is_file()
    assert temp_litter(state) == [] and len(list((state / "history").iterdir())) == 1


# --- 3. determinism --------------------------------------------------------------------------

def test_two_builds_into_two_folders_are_byte_identical(corpus_build, tmp_path):
    config, _, first = corpus_build
    cfg = write_config(tmp_path, source=config.source, extra='[compress]\nbrotli = true\n')
    build_dir(cfg)
    second = tmp_path / "out"
    a, b = published_files(first), published_files(second)
    assert sorted(a) == sorted(b)
    differing = [name for name in a if name != "manifest.json" and a[name] != b[name]]
    assert differing == []
    ma, mb = load_manifest(first), load_manifest(second)
    ma.pop("created"), mb.pop("created")
    assert ma == mb


# --- 4. killed builds ------------------------------------------------------------------------

def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            pids.append(int(entry))
    return pids


def _kill_build_group(proc: subprocess.Popen) -> None:
    """SIGKILL the build and its workers, and wait until every one of them is gone."""
    pgid = proc.pid  # start_new_session: the build leads its own process group
    fds = []
    for pid in _group_pids(pgid):
        try:
            fds.append(os.pidfd_open(pid))
        except ProcessLookupError:
            pass
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    for fd in fds:
        ready, _, _ = select.select([fd], [], [], 30)  # a pidfd is readable once its process exits
        assert ready, "a killed build process did not exit"
        os.close(fd)
    # Anything forked between the listing and the kill was killed too; make sure.
    assert _group_pids(pgid) == []


def _build_cmd(cfg: Path) -> list[str]:
    return [sys.executable, "-m", "assetpipe", "build", "--config", str(cfg), "--quiet"]


def _assets(output: Path) -> dict:
    return load_manifest(output)["assets"]


def _clone(src: Path, dst: Path) -> None:
    """Copy a project's output folder cheaply (hard links are safe because every write
    replaces a file by rename and never modifies one in place) and really copy its state
    folder (beside the config, keyed by the output's relative path: the same in both)."""
    shutil.copytree(src / "out", dst / "out", copy_function=os.link, symlinks=True)
    shutil.copytree(src / ".assetpipe", dst / ".assetpipe", symlinks=True)


def test_build_killed_at_random_moments_keeps_output_consistent(corpus_dir, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    reference = tmp_path / "reference"
    reference.mkdir()
    ref_cfg = write_config(reference, source=corpus_dir)
    started = time.monotonic()
    subprocess.run(_build_cmd(ref_cfg), env=env, check=True, capture_output=True)
    cold_seconds = time.monotonic() - started
    expected = _assets(reference / "out")

    # Each round starts from a complete build of the corpus with minify off, so the killed
    # build has an old manifest to keep consistent, and nearly all of its work is real work.
    old = tmp_path / "old"
    old.mkdir()
    old_cfg = write_config(old, source=corpus_dir, extra="[minify]\njs = false\ncss = false\n")
    subprocess.run(_build_cmd(old_cfg), env=env, check=True, capture_output=True)
    old_assets = _assets(old / "out")
    assert old_assets != expected

    rng = random.Random(20261127)
    for round_no in range(5):
        folder = tmp_path / f"round{round_no}"
        folder.mkdir()
        _clone(old, folder)
        cfg = write_config(folder, source=corpus_dir)
        delay = rng.uniform(0, cold_seconds)
        where = f"round {round_no}, killed after {delay:.2f}s of {cold_seconds:.2f}s"
        proc = subprocess.Popen(_build_cmd(cfg), env=env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=delay)   # the delay picks *when* to kill; it synchronizes nothing
        except subprocess.TimeoutExpired:
            pass
        _kill_build_group(proc)
        output = folder / "out"
        assert manifest_problems(output) == [], where
        assert _assets(output) in (old_assets, expected), where

        rerun = subprocess.run(_build_cmd(cfg), env=env, capture_output=True, text=True)
        assert rerun.returncode == 0, rerun.stderr
        assert _assets(output) == expected, f"{where}: rerun differs from a clean build"
        assert manifest_problems(output) == [], where
        assert temp_litter(output) == [], where


# --- 6. incremental builds -------------------------------------------------------------------

@pytest.fixture
def small_site(tmp_path):
    write_tree(tmp_path / "static", {
        "js/a.js": "function a() { return 1; }\n",
        "js/b.js": "function b() { return 2; }\n",
        "js/lonely.js": "var lonely = 3;\n",
        "css/site.css": "body { color: red; }\n",
        "robots.txt": "User-agent: *\n",
    })
    return write_config(tmp_path, extra='[[bundle]]\nname = "js/all.js"\nfiles = ["js/a.js", "js/b.js"]\n')


class OpenRecorder:
    """Records every path opened through builtins.open / io.open / os.open."""

    def __init__(self, monkeypatch):
        self.paths: list[str] = []
        real_open, real_os_open = builtins.open, os.open

        def recording_open(file, *args, **kwargs):
            if isinstance(file, (str, bytes, os.PathLike)):
                self.paths.append(os.path.abspath(os.fsdecode(file)))
            return real_open(file, *args, **kwargs)

        def recording_os_open(path, *args, **kwargs):
            self.paths.append(os.path.abspath(os.fsdecode(path)))
            return real_os_open(path, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", recording_open)
        monkeypatch.setattr(io, "open", recording_open)
        monkeypatch.setattr(os, "open", recording_os_open)

    def under(self, folder: Path) -> list[str]:
        """Existing files under folder that were opened (probes of absent names don't count)."""
        prefix = str(folder) + os.sep
        return sorted({p for p in self.paths if p.startswith(prefix) and os.path.isfile(p)})


def test_noop_rebuild_reads_no_source_file(small_site, monkeypatch):
    build_dir(small_site)
    source = small_site.parent / "static"
    recorder = OpenRecorder(monkeypatch)
    report = build_dir(small_site)
    assert report.noop and report.processed == 0
    assert recorder.under(source) == []
    # The recorder does see reads: a touched file is opened by the next build.
    os.utime(source / "js/lonely.js", ns=(1, 1))
    report = build_dir(small_site)
    assert not report.noop
    assert recorder.under(source) == [str(source / "js/lonely.js")]


@pytest.mark.parametrize("touched, processed, opened", [
    ("js/lonely.js", 1, ["js/lonely.js"]),
    # js/b.js and its bundle js/all.js; the bundle re-reads its members
    ("js/b.js", 2, ["js/a.js", "js/b.js"]),
])
def test_touching_a_file_reprocesses_it_and_its_bundles_only(small_site, monkeypatch,
                                                             touched, processed, opened):
    build_dir(small_site)
    source = small_site.parent / "static"
    before = load_manifest(small_site.parent / "out")
    os.utime(source / touched, ns=(10**18, 10**18))
    recorder = OpenRecorder(monkeypatch)
    report = build_dir(small_site)
    assert report.processed == processed
    assert recorder.under(source) == [str(source / name) for name in opened]
    assert report.written == 0            # same bytes: same versioned names, nothing rewritten
    assert load_manifest(small_site.parent / "out") == before


def test_editing_a_bundle_member_changes_file_and_bundle_names(small_site):
    build_dir(small_site)
    output = small_site.parent / "out"
    before = _assets(output)
    (small_site.parent / "static/js/a.js").write_text("function a() { return 42; }\n")
    report = build_dir(small_site)
    after = _assets(output)
    assert report.processed == 2 and report.written == 2 and report.manifest_changed
    changed = {name for name in after if after[name] != before[name]}
    assert changed == {"js/a.js", "js/all.js"}
    assert b"42" in (output / after["js/all.js"]["path"]).read_bytes()
    assert (output / before["js/all.js"]["path"]).exists()   # old versions stay for old pages


def test_changing_settings_invalidates_the_cache(small_site):
    build_dir(small_site)
    text = small_site.read_text()
    small_site.write_text(text + "[minify]\njs = false\n")
    report = build_dir(small_site)
    assert report.processed == report.files == 6
    output = small_site.parent / "out"
    lonely = _assets(output)["js/lonely.js"]["path"]
    assert (output / lonely).read_text() == "var lonely = 3;\n"


@pytest.mark.parametrize("which", ["versioned", "twin", "manifest"])
def test_deleted_output_file_is_restored(tmp_path, which):
    write_tree(tmp_path / "static", {"js/app.js": "function app() { return 'x'; }\n" * 20})
    cfg = write_config(tmp_path)
    build_dir(cfg)
    output = tmp_path / "out"
    entry = _assets(output)["js/app.js"]
    victim = output / {"versioned": entry["path"], "twin": entry["encodings"].get("gzip", ""),
                       "manifest": "manifest.json"}[which]
    original = victim.read_bytes()
    victim.unlink()
    report = build_dir(cfg)
    assert not report.noop
    assert victim.read_bytes() == original
    assert manifest_problems(output) == []


def test_plain_twin_goes_when_the_file_no_longer_earns_one(tmp_path):
    """Apache serves `a.txt.gzip` to gzip clients: a stale one would serve old bytes."""
    write_tree(tmp_path / "static", {"a.txt": "hello world " * 200})
    cfg = write_config(tmp_path, extra='[compress]\nbrotli = true\n')
    build_dir(cfg)
    out = tmp_path / "out"
    assert (out / "a.txt.gzip").is_file() and (out / "a.txt.br").is_file()
    (tmp_path / "static" / "a.txt").write_bytes(random.Random(7).randbytes(2000))
    build_dir(cfg)
    assert load_manifest(out)["assets"]["a.txt"]["encodings"] == {}
    assert not (out / "a.txt.gzip").exists() and not (out / "a.txt.br").exists()
    assert (out / "a.txt").read_bytes() == (tmp_path / "static" / "a.txt").read_bytes()


def test_workers_exit_when_the_build_is_killed(corpus_dir, tmp_path):
    """kill -9 of the build alone: its pool must not go on writing into the output."""
    cfg = write_config(tmp_path, source=corpus_dir)
    proc = subprocess.Popen(_build_cmd(cfg), env=dict(os.environ, PYTHONPATH=str(REPO)),
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(others := [p for p in _group_pids(proc.pid) if p != proc.pid]) < 3:
        assert proc.poll() is None and time.monotonic() < deadline, "no worker pool started"
    fds = [os.pidfd_open(pid) for pid in others]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    for fd in fds:
        ready, _, _ = select.select([fd], [], [], 30)
        assert ready, "a worker outlived the killed build"
        os.close(fd)


def test_a_page_written_beside_the_assets_keeps_the_rebuild_a_noop(small_site):
    build_dir(small_site)
    out = small_site.parent / "out"
    (out / "index.html").write_text("<p>rendered by `assetpipe pages`</p>\n")
    assert build_dir(small_site).noop is True
    (out / "robots.txt").unlink()   # but a file of ours going missing is noticed
    assert build_dir(small_site).noop is False
    assert (out / "robots.txt").is_file()


def test_plain_copy_of_a_deleted_source_goes_its_versioned_file_stays(small_site):
    build_dir(small_site)
    out = small_site.parent / "out"
    versioned = load_manifest(out)["assets"]["robots.txt"]["path"]
    (small_site.parent / "static" / "robots.txt").unlink()
    build_dir(small_site)
    assert "robots.txt" not in load_manifest(out)["assets"]
    assert not (out / "robots.txt").exists()
    assert (out / versioned).is_file()   # old pages may still ask for it: `clean` decides


def test_png_recompression_is_cached_by_content(tmp_path, monkeypatch):
    from PIL import Image
    from assetpipe import images
    buf = io.BytesIO()
    Image.linear_gradient("L").resize((64, 64)).save(buf, "PNG", compress_level=1)
    write_tree(tmp_path / "static", {"img/a.png": buf.getvalue()})
    cfg = write_config(tmp_path, png_off=False)
    build_dir(cfg, workers=1)
    out = tmp_path / "out"
    first = load_manifest(out)["assets"]["img/a.png"]
    assert first["size"] < len(buf.getvalue())

    def fail(*args, **kwargs):
        raise AssertionError("the PNG was recompressed again")
    monkeypatch.setattr(images, "optimize_png", fail)
    (tmp_path / "static/img/a.png").rename(tmp_path / "static/img/b.png")  # same bytes, new name
    build_dir(cfg, workers=1)
    again = load_manifest(out)["assets"]["img/b.png"]
    assert (again["size"], again["integrity"]) == (first["size"], first["integrity"])
