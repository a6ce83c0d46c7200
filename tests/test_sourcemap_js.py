"""[sourcemaps] for JavaScript: exact Source Map v3 for minified files and bundles.

Checked with code that shares nothing with assetpipe: acorn tokenizes
(tests/js_sourcemap_check.js, one node process for the whole corpus) and
VLQ is decoded by the test's own decoders.  A real engine reads the maps
too: node --enable-source-maps must report a bundled script's error at its
source file and line, and must not without the map or with a wrong one.
"""
from __future__ import annotations

import json
import os
import posixpath
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import build_dir, load_manifest, missing_tool, write_config, write_tree
from test_sourcemap import decode_mappings, encode_mappings, mapped_corpus  # noqa: F401

CHECKER = Path(__file__).parent / "js_sourcemap_check.js"
JS_COMMENT = re.compile(r"\n//# sourceMappingURL=([^ \n]+)\n$")
COMPOSED = "js/dates.js"   # its first member is a shipped moment.min.js with its map


def node(args: list[str], acorn_dir: Path | None = None, **kwargs) -> subprocess.CompletedProcess:
    if shutil.which("node") is None:
        missing_tool("node not found: apt-get install nodejs")
    env = dict(os.environ, NODE_PATH=str(acorn_dir)) if acorn_dir else None
    return subprocess.run(["node", *args], capture_output=True, text=True, env=env,
                          timeout=900, **kwargs)


def acorn_check(entries: list[dict], acorn_dir: Path, work: Path) -> list[dict]:
    listing = work / "maps.json"
    listing.write_text(json.dumps(entries))
    done = node([str(CHECKER), str(listing)], acorn_dir)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def entry_for(out: Path, entry: dict) -> dict:
    """What the checker needs for one output: a bundle's `;` separator lines
    are generated, not from a source: they may go unmapped."""
    text = (out / entry["path"]).read_text(encoding="utf-8")
    separators = [[n, 0] for n, line in enumerate(text.split("\n"), 1) if line == ";"]
    return {"out": str(out / entry["path"]), "map": str(out / entry["sourcemap"]),
            "unmapped": separators if entry.get("sources") else []}


def test_every_minified_js_and_bundle_maps_every_token(mapped_corpus, acorn_dir,  # noqa: F811
                                                       tmp_path):
    out, assets, report = mapped_corpus
    assert not [w for w in report.warnings if "source map" in w or "input map" in w]
    mapped = {name: entry for name, entry in assets.items()
              if name.endswith((".js", ".mjs", ".cjs")) and name != COMPOSED
              and (".min." not in name or entry.get("sources"))}
    assert len(mapped) >= 2000 and {"js/vendor.js", "js/ui.js"} <= mapped.keys()
    for name, entry in mapped.items():
        assert re.fullmatch(re.escape(name) + r"\.v[0-9a-f]{10}\.map", entry["sourcemap"])
        comment = JS_COMMENT.search((out / entry["path"]).read_text(encoding="utf-8"))
        assert comment and comment.group(1) == posixpath.basename(entry["sourcemap"]), name
    results = acorn_check([entry_for(out, e) for e in mapped.values()], acorn_dir, tmp_path)
    problems = {r["out"]: r["problems"] for r in results if r["count"]}
    assert problems == {}
    assert all(r["checked"] > 0 for r in results)
    assert sum(r["checked"] for r in results) > 1_000_000   # every token of ~12 MB of JS


def test_js_bundle_members_each_mapped(mapped_corpus):  # noqa: F811
    out, assets, _ = mapped_corpus
    source_map = json.loads((out / assets["js/vendor.js"]["sourcemap"]).read_bytes())
    assert source_map["sources"] == ["../jquery/dist/jquery.js", "../moment/moment.js",
                                     "../leaflet/dist/leaflet-src.js"]
    used = {seg[1] for line in decode_mappings(source_map["mappings"]) for seg in line}
    assert used == {0, 1, 2}


def test_checker_catches_a_shifted_segment(mapped_corpus, acorn_dir, tmp_path):  # noqa: F811
    """Negative control: one segment moved one column in its source fails the check."""
    out, assets, _ = mapped_corpus
    entry = entry_for(out, assets["js/ui.js"])
    source_map = json.loads(Path(entry["map"]).read_bytes())
    decoded = decode_mappings(source_map["mappings"])
    col, src, line, src_col = decoded[0][7]
    decoded[0][7] = (col, src, line, src_col + 1)
    source_map["mappings"] = encode_mappings(decoded)
    wrong = tmp_path / "wrong.map"
    wrong.write_text(json.dumps(source_map))
    good, bad = acorn_check([entry, dict(entry, map=str(wrong))], acorn_dir, tmp_path)
    assert good["count"] == 0 and good["checked"] > 1000
    assert bad["count"] == 1 and "-> " in bad["problems"][0]


def test_shipped_min_js_map_is_composed(mapped_corpus, corpus_dir, acorn_dir):  # noqa: F811
    """moment.min.js (with moment.min.js.map, both shipped in the corpus) in a
    bundle: each of its tokens maps where moment's own map sends that position
    (the segment at or before it on its line), to ../moment/moment.js."""
    out, assets, _ = mapped_corpus
    entry = assets[COMPOSED]
    source_map = json.loads((out / entry["sourcemap"]).read_bytes())
    assert source_map["sources"] == ["../moment/moment.js", "../jquery-ui/ui/keycode.js"]
    shipped = json.loads((corpus_dir / "moment/min/moment.min.js.map").read_bytes())
    expected_map = [{seg[0]: seg[1:4] for seg in line}
                    for line in decode_mappings(shipped["mappings"], ours=False)]
    minified = node([str(CHECKER), "--positions", str(corpus_dir / "moment/min/moment.min.js")],
                    acorn_dir)
    bundled = node([str(CHECKER), "--positions", str(out / entry["path"])], acorn_dir)
    min_tokens, out_tokens = json.loads(minified.stdout), json.loads(bundled.stdout)
    ours = [{seg[0]: seg[1:] for seg in line} for line in decode_mappings(source_map["mappings"])]
    mismatched, composed = [], 0
    for (line, col), (out_line, out_col) in zip(min_tokens, out_tokens, strict=False):
        row = expected_map[line - 1]
        before = [c for c in row if c <= col]
        expected = row[max(before)] if before else None
        actual = ours[out_line - 1].get(out_col)
        composed += actual is not None
        if expected is not None and actual != (0, *expected[1:]) or (expected is None
                                                                    and actual is not None):
            mismatched.append((line, col, expected, actual))
    assert mismatched == [] and composed > 10_000
    assert source_map["sourcesContent"][0] is None   # moment's map carries none


THROWER = {"js/util.js": "// helpers\nfunction twice(x) {\n  return x * 2;\n}\n",
           "js/fail.js": "function fail(why) {\n  var message = 'failed: ' + why;\n"
                         "  throw new Error(message);\n}\nfail(twice(21));\n"}


def _thrower_site(root: Path, extra: str = "") -> Path:
    write_tree(root / "static", THROWER)
    return write_config(root, extra="[sourcemaps]\nenabled = true\n" + extra
                        + '[[bundle]]\nname = "js/app.js"\nfiles = ["js/util.js", "js/fail.js"]\n')


def _stack(script: Path) -> str:
    done = node(["--enable-source-maps", str(script)])
    assert done.returncode == 1 and "failed: 42" in done.stderr, done.stderr
    return done.stderr


def test_node_maps_a_bundled_error_to_its_source_line(tmp_path):
    build_dir(_thrower_site(tmp_path))
    entry = load_manifest(tmp_path / "out")["assets"]["js/app.js"]
    bundle = tmp_path / "out" / entry["path"]
    assert f"{tmp_path / 'out' / 'js' / 'fail.js'}:3" in _stack(bundle)
    # Negative controls: a wrong map (util.js's, a real map of other code) and no map.
    shutil.copyfile(tmp_path / "out" / load_manifest(tmp_path / "out")["assets"]["js/util.js"][
        "sourcemap"], tmp_path / "out" / entry["sourcemap"])
    assert "fail.js:3" not in _stack(bundle)
    hidden = tmp_path / "hidden"
    build_dir(_thrower_site(hidden, "hidden = true\n"))
    plain = hidden / "out" / load_manifest(hidden / "out")["assets"]["js/app.js"]["path"]
    stack = _stack(plain)
    assert "fail.js:3" not in stack and f"{plain}:" in stack


def _shipped_lib(root: Path) -> tuple[str, str]:
    """A `*.min.js` and its map, as a library would ship them: assetpipe's own
    output of lib.js (an exact map with sourcesContent, so a map composed
    through it can be checked token by token)."""
    write_tree(root / "static", {"lib.js": "// a library\nfunction add(a, b) {\n"
                                           "  return `sum: ${a + b}`;\n}\n"})
    build_dir(write_config(root, extra="[sourcemaps]\nenabled = true\n"))
    lib = load_manifest(root / "out")["assets"]["lib.js"]
    code = JS_COMMENT.sub("\n//# sourceMappingURL=lib.min.js.map\n",
                          (root / "out" / lib["path"]).read_text())
    return code, (root / "out" / lib["sourcemap"]).read_text()


@pytest.mark.parametrize("broken", [None, "missing", "invalid"])
def test_generated_min_js_map_composes_or_warns(tmp_path, acorn_dir, broken):
    code, shipped = _shipped_lib(tmp_path / "lib")
    files = {"vendor/lib.min.js": code, "js/main.js": "var total = add(1, 2);\n"}
    if broken != "missing":
        files["vendor/lib.min.js.map"] = (shipped if broken is None
                                          else '{"version": 3, "mappings": "!"}')
    site = tmp_path / "site"
    write_tree(site / "static", files)
    report = build_dir(write_config(site, extra="[sourcemaps]\nenabled = true\n"
                                    '[[bundle]]\nname = "js/all.js"\n'
                                    'files = ["vendor/lib.min.js", "js/main.js"]\n'))
    out = site / "out"
    entry = load_manifest(out)["assets"]["js/all.js"]
    source_map = json.loads((out / entry["sourcemap"]).read_bytes())
    warned = [w for w in report.warnings if "input map" in w]
    if broken is None:
        assert source_map["sources"] == ["../vendor/lib.js", "main.js"] and warned == []
        assert source_map["sourcesContent"][0].startswith("// a library")  # carried
    else:
        assert source_map["sources"] == ["../vendor/lib.min.js", "main.js"]
        assert warned and warned[0].startswith(
            "vendor/lib.min.js: its input map vendor/lib.min.js.map is unusable")
    [result] = acorn_check([entry_for(out, entry)], acorn_dir, tmp_path)
    assert result["count"] == 0 and result["checked"] >= 20, result


def test_edge_cases_and_unminified_fallbacks_are_mapped_exactly(tmp_path, acorn_dir):
    """The minifier check's cases (tests/fixtures/js-edge-cases): the scripts
    rjsmin breaks are published unminified, and their maps are still exact
    (token for token onto the copied text); so are the minified ones."""
    cases = Path(__file__).parent / "fixtures" / "js-edge-cases"
    shutil.copytree(cases, tmp_path / "static")
    report = build_dir(write_config(tmp_path, extra="[sourcemaps]\nenabled = true\n"))
    fallbacks = {w.split(":")[0] for w in report.warnings if "published unminified" in w}
    assets = load_manifest(tmp_path / "out")["assets"]
    assert len(fallbacks) >= 3 and all("sourcemap" in assets[name] for name in fallbacks)
    entries = [entry_for(tmp_path / "out", entry) for entry in assets.values()
               if "sourcemap" in entry]
    assert len(entries) == len([p for p in cases.iterdir() if ".min." not in p.name])
    results = acorn_check(entries, acorn_dir, tmp_path)
    assert {r["out"]: r["problems"] for r in results if r["count"]} == {}
    assert all(r["checked"] > 0 for r in results)


def test_hidden_cuts_the_comment_of_a_shipped_min_js_too(tmp_path):
    """A `*.min.js` published on its own keeps its map comment, re-pointed at
    the map's versioned copy; with `hidden = true` no output names a map, and
    the shipped map is still published (for the error tracker)."""
    code, shipped = _shipped_lib(tmp_path / "lib")
    for hidden in (False, True):
        site = tmp_path / f"site-{hidden}"
        write_tree(site / "static", {"js/lib.min.js": code, "js/lib.min.js.map": shipped,
                                     "js/app.js": "var total = add(1, 2);\n"})
        build_dir(write_config(site, extra="[sourcemaps]\nenabled = true\n"
                               f"hidden = {'true' if hidden else 'false'}\n"))
        assets = load_manifest(site / "out")["assets"]
        assert "js/lib.min.js.map" in assets and "sourcemap" in assets["js/app.js"]
        lib = (site / "out" / assets["js/lib.min.js"]["path"]).read_text()
        named = [p for p in (site / "out").rglob("*.js") if b"sourceMappingURL" in p.read_bytes()]
        if hidden:
            assert named == [] and "function add" in lib
        else:  # the control: both scripts name their maps
            assert posixpath.basename(assets["js/lib.min.js.map"]["path"]) in lib
            assert len(named) == 4   # versioned + plain copy of each
