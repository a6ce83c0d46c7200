"""A shipped input map is a dependency of every output whose map goes through it.

A `*.min.js` bundle member that names its own map (`sourceMappingURL`) gets
the bundle's map composed through that map.  Changing only that input map
(the `.min.js` untouched) must rebuild the bundle's map: incrementally, from
the result cache into a fresh output folder, and when the map is deleted or
corrupted (then a warning, and the bundle maps to the `.min.js` itself).
Every case ends equal to a build from scratch of the same sources.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import build_dir, load_manifest, published_files, state_dir, write_config, write_tree
from test_sourcemap import decode_mappings, encode_mappings
from test_sourcemap_js import _shipped_lib

from assetpipe.cache import cache_folder

MAP = "vendor/lib.min.js.map"
BUNDLE = '[[bundle]]\nname = "js/all.js"\nfiles = ["vendor/lib.min.js", "js/main.js"]\n'


@pytest.fixture(scope="module")
def shipped(tmp_path_factory) -> tuple[str, str]:
    """A generated `*.min.js` and its exact map (test_sourcemap_js._shipped_lib)."""
    return _shipped_lib(tmp_path_factory.mktemp("lib"))


def _edited(shipped_map: str, edit: str) -> str | None:
    """The input map after one edit (None: deleted)."""
    doc = json.loads(shipped_map)
    if edit == "sources":
        doc["sources"] = ["src/lib.js"]
    elif edit == "mappings":   # every segment one source line further down
        doc["mappings"] = encode_mappings(
            [[(col, src, line + 1, scol) for col, src, line, scol in segments]
             for segments in decode_mappings(doc["mappings"])])
    elif edit == "corrupt":
        return shipped_map[:len(shipped_map) // 2]
    else:
        return None
    return json.dumps(doc)


def _site(root: Path, shipped: tuple[str, str], extra: str = "") -> Path:
    code, shipped_map = shipped
    write_tree(root / "static", {"vendor/lib.min.js": code, MAP: shipped_map,
                                 "js/main.js": "var total = add(1, 2);\n"})
    return write_config(root, extra="[sourcemaps]\nenabled = true\n" + extra + BUNDLE)


def _apply(static: Path, shipped_map: str, edit: str) -> None:
    edited = _edited(shipped_map, edit)
    if edited is None:
        (static / MAP).unlink()
    else:
        (static / MAP).write_text(edited)


def _published(output: Path) -> dict:
    """What the build publishes: the manifest (without its time stamp) and
    the bytes of every file in the output folder."""
    files = published_files(output)
    manifest = json.loads(files.pop("manifest.json"))
    manifest.pop("created")
    return {"manifest": manifest, "files": files}


def _same_as_from_scratch(site: Path, output: Path, extra: str) -> dict:
    """A build from scratch of `site`'s sources; asserts `output` publishes
    the same manifest and holds every file it holds, byte for byte (the
    rebuilt output also keeps the last build's versioned files)."""
    fresh = site / "scratch"
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir()
    report = build_dir(write_config(fresh, source=site / "static", extra=(
        "[sourcemaps]\nenabled = true\n" + extra + BUNDLE)))
    expected, got = _published(fresh / "out"), _published(output)
    assert got["manifest"] == expected["manifest"]
    assert {name: got["files"].get(name) for name in expected["files"]} == expected["files"]
    return {"report": report, **expected}


def _bundle_map(output: Path) -> dict:
    entry = load_manifest(output)["assets"]["js/all.js"]
    return json.loads((output / entry["sourcemap"]).read_bytes())


EXTRAS = {"hash": "", "mtime": '[versioning]\nstrategy = "mtime"\n',
          "hidden": "hidden = true\n"}


@pytest.mark.parametrize("edit", ["sources", "mappings", "corrupt", "deleted"])
@pytest.mark.parametrize("variant", list(EXTRAS))
def test_an_edited_input_map_rebuilds_the_bundle_map_incrementally(tmp_path, shipped,
                                                                    edit, variant):
    site, extra = tmp_path / "site", EXTRAS[variant]
    cfg = _site(site, shipped, extra)
    build_dir(cfg)
    before = _bundle_map(site / "out")
    assert before["sources"] == ["../vendor/lib.js", "main.js"]   # composed
    _apply(site / "static", shipped[1], edit)
    report = build_dir(cfg)
    # Looked at: the map's own copy, the .min.js naming it, the bundle (not main.js).
    assert report.processed == (2 if edit == "deleted" else 3)
    after = _bundle_map(site / "out")
    assert after != before
    scratch = _same_as_from_scratch(site, site / "out", extra)
    warned = [w for w in report.warnings if "its input map" in w]
    assert warned == [w for w in scratch["report"].warnings if "its input map" in w]
    if edit in ("corrupt", "deleted"):   # the map points at the .min.js itself
        assert after["sources"] == ["../vendor/lib.min.js", "main.js"]
        assert warned and warned[0].startswith(f"vendor/lib.min.js: its input map {MAP} "
                                               "is unusable")
    else:
        assert warned == []
        assert after["sources"][0] == ("../vendor/src/lib.js" if edit == "sources"
                                       else "../vendor/lib.js")
    assert not [w for w in report.warnings if "already holds other bytes" in w]
    # And back: the input map restored, the composed map returns.
    (site / "static" / MAP).write_text(shipped[1])
    build_dir(cfg)
    assert _bundle_map(site / "out") == before
    _same_as_from_scratch(site, site / "out", extra)


def test_an_edited_input_map_through_the_result_cache(tmp_path, shipped):
    """A fresh output folder whose state folder starts with the cache of the
    build before the edit: the cached results (minified text, twins) are
    reused, the bundle's map is the new one."""
    site = tmp_path / "site"
    cfg = _site(site, shipped)
    build_dir(cfg)
    before = _bundle_map(site / "out")
    _apply(site / "static", shipped[1], "sources")
    second = write_config(site, output="out2", extra=(
        "[sourcemaps]\nenabled = true\n" + BUNDLE), name="second.toml")
    shutil.copytree(cache_folder(str(state_dir(cfg))), cache_folder(str(state_dir(second))))
    report = build_dir(second)
    assert sum(report.cache[k]["local"] for k in report.cache) > 0
    after = _bundle_map(site / "out2")
    assert after != before and after["sources"][0] == "../vendor/src/lib.js"
    _same_as_from_scratch(site, site / "out2", "")


def test_a_min_js_on_its_own_names_the_edited_map(tmp_path, shipped):
    """Published on its own, a `*.min.js` keeps its comment, re-pointed at
    the shipped map's versioned copy: an edited map renames that copy, so the
    script's bytes (and its name) change with it."""
    site = tmp_path / "site"
    cfg = _site(site, shipped)
    build_dir(cfg)
    lib = load_manifest(site / "out")["assets"]["vendor/lib.min.js"]["path"]
    _apply(site / "static", shipped[1], "mappings")
    build_dir(cfg)
    assets = load_manifest(site / "out")["assets"]
    assert assets["vendor/lib.min.js"]["path"] != lib
    text = (site / "out" / assets["vendor/lib.min.js"]["path"]).read_text()
    assert text.endswith(f"//# sourceMappingURL={Path(assets[MAP]['path']).name}\n")
    _same_as_from_scratch(site, site / "out", "")


def test_a_map_the_build_does_not_track_is_not_read(tmp_path, shipped):
    """A dot-named map is no source (sources.py skips it), so no build would
    notice it change: it is not read either (a warning, the bundle maps to
    the .min.js); the same map under a plain name is (the control)."""
    code, shipped_map = shipped
    for folder in (".maps", "maps"):
        site = tmp_path / folder.strip(".")
        write_tree(site / "static", {
            "vendor/lib.min.js": code.replace("lib.min.js.map", f"{folder}/lib.min.js.map"),
            f"vendor/{folder}/lib.min.js.map": shipped_map,
            "js/main.js": "var total = add(1, 2);\n"})
        report = build_dir(write_config(site, extra="[sourcemaps]\nenabled = true\n" + BUNDLE))
        warned = [w for w in report.warnings if "its input map" in w]
        first = _bundle_map(site / "out")["sources"][0]
        if folder == "maps":
            assert warned == [] and first == "../vendor/maps/lib.js"
        else:
            assert first == "../vendor/lib.min.js"
            assert warned == ["vendor/lib.min.js: its input map vendor/.maps/lib.min.js.map "
                              "is unusable (ValueError: not a file of the source folder); "
                              "the map points at the file itself"]


def test_with_maps_off_an_input_map_is_no_dependency_of_the_bundle(tmp_path, shipped):
    """No map of ours, so nothing to compose: editing the shipped map rebuilds
    its own copy and the .min.js naming it, not the bundle (no extra work)."""
    site = tmp_path / "site"
    code, shipped_map = shipped
    write_tree(site / "static", {"vendor/lib.min.js": code, MAP: shipped_map,
                                 "js/main.js": "var total = add(1, 2);\n"})
    cfg = write_config(site, extra=BUNDLE)
    build_dir(cfg)
    bundle = load_manifest(site / "out")["assets"]["js/all.js"]
    _apply(site / "static", shipped_map, "sources")
    report = build_dir(cfg)
    assert report.processed == 2 and load_manifest(site / "out")["assets"]["js/all.js"] == bundle
    assert "sourcemap" not in bundle
