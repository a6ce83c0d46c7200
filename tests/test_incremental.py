"""assetpipe.incremental: a build that looks only at what changed (and what
names it) must publish exactly what a build from scratch publishes."""
from __future__ import annotations

import json
import os
import random
import shutil

import pytest
from conftest import (
    build_dir,
    load_manifest,
    manifest_problems,
    state_dir,
    write_config,
    write_tree,
)

from assetpipe import history
from assetpipe.errors import BuildError

REFS = '[references]\nmissing = "warn"\n'
BUNDLE = '[[bundle]]\nname = "all.css"\nfiles = ["css/*.css"]\n'


def site_files(rng: random.Random) -> dict[str, str]:
    files = {f"img/i{n}.svg": f'<svg xmlns="http://www.w3.org/2000/svg"><!-- {n} --></svg>\n'
             for n in range(6)}
    for n in range(6):   # each stylesheet names images in another folder, some not there yet
        targets = rng.sample(range(9), 2)
        files[f"css/s{n}.css"] = "".join(f".c{t} {{ background: url(../img/i{t}.svg) }}\n"
                                         for t in targets)
    files["css/top.css"] = '@import "s0.css";\nbody { color: red }\n'
    files["js/app.js"] = "function app() { return 1; }\n"
    files["js/é clair.js"] = "var éclair = 'ü';\n"    # multi-byte fragments shift offsets
    return files


def assets_without_created(output) -> dict:
    """The manifest minus its timestamp; checked first to be byte for byte what
    encoding the whole document gives (it is joined or spliced from fragments)."""
    raw = (output / "manifest.json").read_bytes()
    doc = json.loads(raw)
    assert raw == (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    doc.pop("created")
    return doc


def fresh_build(tmp_path, source, extra: str) -> dict:
    """A build from scratch of the same sources, into a new output."""
    fresh = tmp_path / "fresh"
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir()
    build_dir(write_config(fresh, source=source, extra=extra))
    return assets_without_created(fresh / "out")


def mutate(rng: random.Random, static) -> str:
    """One random change: edit, add or delete a file (an image named by CSS, often)."""
    kind = rng.choice(["edit-img", "edit-css", "add-img", "delete-img", "edit-js", "touch"])
    n = rng.randrange(9)
    img = static / f"img/i{n}.svg"
    if kind in ("edit-img", "add-img"):
        img.write_text(f'<svg xmlns="http://www.w3.org/2000/svg"><!-- {rng.random()} --></svg>\n')
    elif kind == "delete-img" and img.exists():
        img.unlink()
    elif kind == "edit-css":
        (static / f"css/s{rng.randrange(6)}.css").write_text(
            f".x {{ background: url(../img/i{n}.svg) }} /* {rng.random()} */\n")
    elif kind == "edit-js":
        name = rng.choice(["js/app.js", "js/é clair.js", f"js/new{n}.js"])
        (static / name).write_text(f"function app() {{ return '{rng.random()}ü'; }}\n")
    else:
        os.utime(static / "css/top.css", ns=(rng.randrange(10**18), rng.randrange(10**18)))
    return f"{kind} {n}"


def test_random_changes_publish_what_a_build_from_scratch_publishes(tmp_path):
    rng = random.Random(20261129)
    static = write_tree(tmp_path / "static", site_files(rng))
    cfg = write_config(tmp_path, extra=REFS + BUNDLE)
    build_dir(cfg)
    output = tmp_path / "out"
    for step in range(30):
        what = mutate(rng, static)
        report = build_dir(cfg)
        assert manifest_problems(output) == [], what
        assert assets_without_created(output) == fresh_build(tmp_path, static, REFS + BUNDLE), \
            f"step {step}: {what}"
        assert report.files == len(load_manifest(output)["assets"])


def test_a_one_file_edit_looks_at_that_file_and_what_names_it(tmp_path):
    files = {f"d{n}/f{n}.js": f"var v{n} = {n};\n" for n in range(40)}
    files["img/a.svg"] = "<svg/>\n"
    files["css/uses-a.css"] = ".a { background: url(../img/a.svg) }\n"
    static = write_tree(tmp_path / "static", files)
    cfg = write_config(tmp_path)
    build_dir(cfg)
    (static / "img/a.svg").write_text("<svg><g/></svg>\n")
    report = build_dir(cfg)
    assert report.processed == 2            # the image and the stylesheet naming it
    assert report.files == 42               # totals still cover every output
    (static / "d3/f3.js").write_text("var v3 = 33;\n")
    assert build_dir(cfg).processed == 1


def test_a_failed_build_keeps_the_next_one_incremental(tmp_path, monkeypatch):
    """A broken reference stops the build before it publishes anything: the
    fix is then looked at alone, not with the whole site."""
    files = {f"js/f{n}.js": f"var v{n} = {n};\n" for n in range(20)}
    files["css/site.css"] = "body { color: red }\n"
    static = write_tree(tmp_path / "static", files)
    cfg = write_config(tmp_path)
    build_dir(cfg)
    before = load_manifest(tmp_path / "out")
    (static / "css/site.css").write_text(".a { background: url(missing.png) }\n")
    with pytest.raises(BuildError, match="css/site.css:1"):
        build_dir(cfg)
    assert load_manifest(tmp_path / "out") == before
    (static / "css/site.css").write_text("body { color: blue }\n")
    report = build_dir(cfg)
    assert report.processed == 1 and report.manifest_changed


def test_history_entries_after_the_first_are_deltas_and_replay_exactly(tmp_path):
    files = {f"js/f{n}.js": f"var v{n} = {n};\n" * 30 for n in range(50)}
    static = write_tree(tmp_path / "static", files)
    cfg = write_config(tmp_path)
    output = tmp_path / "out"
    manifests = []
    for n in range(3):
        (static / "js/f7.js").write_text(f"var edited = {n};\n" * 30)
        if n == 2:
            (static / "js/f8.js").unlink()
        build_dir(cfg)
        manifests.append(load_manifest(output))
    states = state_dir(cfg)
    folder = states / history.HISTORY_DIR
    sizes = [(folder / name).stat().st_size for name in sorted(os.listdir(folder))]
    assert len(sizes) == 3 and max(sizes[1:]) * 10 < sizes[0]   # a delta names one or two files
    assert [e.paths for e in history.entries(str(states))] == \
        [frozenset(history.manifest_paths(m)) for m in manifests]
    doomed = history.entries(str(states))[:1]
    history.remove(str(states), doomed)             # the first kept delta is written whole
    remaining = sorted(os.listdir(folder))
    assert "base" not in json.loads((folder / remaining[0]).read_text())
    assert [e.paths for e in history.entries(str(states))] == \
        [frozenset(history.manifest_paths(m)) for m in manifests[1:]]
