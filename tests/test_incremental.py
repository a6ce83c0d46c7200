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

from assetpipe import commit, history
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



@pytest.mark.parametrize("added, why", [
    ("js/app.js.gzip", "twin of 'js/app.js'"),          # another output's twin
    ("css/s0.css.gz", "twin of 'css/s0.css'"),
    ("img/i1.v0123456789.svg", "looks versioned"),
])
def test_an_incremental_build_checks_the_names_of_added_sources(tmp_path, added, why):
    """Only added names are checked against the naming rules on an
    incremental build (a file and a folder of one name cannot both be
    sources; bundles, whose names can clash so, are always checked)."""
    static = write_tree(tmp_path / "static", site_files(random.Random(1)))
    cfg = write_config(tmp_path, extra=REFS)
    build_dir(cfg)
    write_tree(static, {added: "x"})
    with pytest.raises(BuildError, match=why) as caught:
        build_dir(cfg)
    assert added in str(caught.value)
    (static / added).unlink()
    assert build_dir(cfg).processed == 0     # and the build after it is incremental


# Features that need every output's state: each random incremental build
# must still publish (or refuse) exactly what a build from scratch does.
WHOLE_SITE = (REFS + BUNDLE
              + '[budgets]\n"js/app.js" = { raw = 60, gzip = 80 }\n"css/*.css" = { raw = "2 kB" }\n'
              + '[importmap]\napp = "js/app.js"\nimg = "img/i0.svg"\n'
              + '[versioning]\nprehashed = ["assets/**"]\n'
              + 'vite_manifest = "static/.vite/manifest.json"\n')


def write_vite(rng: random.Random, static, hashes: list[str]) -> None:
    """A Vite manifest naming some of the prehashed files (entries come and go)."""
    entries = {f"src/e{n}.js": {"file": f"assets/e{n}-{hashes[n]}.js",
                                "css": [f"assets/e{n}-{hashes[n]}.css"] if n % 2 else []}
               for n in rng.sample(range(4), rng.randrange(1, 4))}
    write_tree(static, {".vite/manifest.json": json.dumps(entries)})


def mutate_whole_site(rng: random.Random, static, hashes: list[str]) -> str:
    kind = rng.choice(["vite", "rebuilt", "grow-js", "other"])
    n = rng.randrange(4)
    if kind == "rebuilt":   # Vite made new bytes under a new name: entries copying it change
        hashes[n] = f"{rng.randrange(16**8):08x}"
        write_tree(static, {f"assets/e{n}-{hashes[n]}.{ext}": f"/* {rng.random()} */\n"
                            for ext in ("js", "css")})
    if kind in ("vite", "rebuilt"):
        write_vite(rng, static, hashes)
    elif kind == "grow-js":   # over (or back under) its budget
        (static / "js/app.js").write_text("var app = 1;\n" * rng.choice([1, 9]))
    else:
        return mutate(rng, static)
    return f"{kind} {n}"


def outcome(cfg) -> tuple:
    """What a build publishes: the manifest and budget table, or its error."""
    try:
        report = build_dir(cfg)
    except BuildError as exc:
        return ("error", str(exc))
    return ("built", assets_without_created(cfg.parent / "out"), report.budgets, report.files)


def fresh_outcome(tmp_path, static) -> tuple:
    fresh = tmp_path / "fresh"
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir()
    return outcome(write_config(fresh, source=static, extra=WHOLE_SITE.replace(
        '"static/', f'"{static}/')))


def test_random_changes_with_budgets_importmap_and_vite_entries_match_a_fresh_build(
        tmp_path, monkeypatch):
    rng = random.Random(20261130)
    files = site_files(rng)
    hashes = ["abcdefgh"] * 4
    files.update({f"assets/e{n}-abcdefgh.{ext}": f"/* {n} */\n" for n in range(4)
                  for ext in ("js", "css")})
    static = write_tree(tmp_path / "static", files)
    write_vite(rng, static, hashes)
    cfg = write_config(tmp_path, extra=WHOLE_SITE)
    build_dir(cfg)
    seen = set()
    for step in range(40):
        what = mutate_whole_site(rng, static, hashes)
        got = outcome(cfg)
        expected = fresh_outcome(tmp_path, static)
        assert got == expected, f"step {step}: {what}: {got[:2]}"
        if got[0] == "built":   # the history (deltas, replayed) names what the manifest does
            assert history.entries(str(state_dir(cfg)))[-1].paths == \
                frozenset(history.manifest_paths(got[1])), f"step {step}: {what}"
        seen.add(got[0])
    assert seen == {"built", "error"}   # both paths were taken (a budget breach, at least)
    (static / "js/app.js").write_text("var app = 1;\n")
    build_dir(cfg)
    (static / "js/app.js").write_text("var app = 2;\n")

    def whole(*args):
        raise AssertionError("manifest rendered whole, not spliced around the Vite entries")
    monkeypatch.setattr(commit, "render_fragments", whole)
    assert build_dir(cfg).processed == 1    # incremental: no whole-site fallback
    monkeypatch.undo()
    assert assets_without_created(tmp_path / "out") == fresh_outcome(tmp_path, static)[1]
