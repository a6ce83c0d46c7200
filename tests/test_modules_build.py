"""ES modules in the build: rewritten specifiers, cycle versioning, what a
change re-versions, the import map and preload helpers, module bundles."""
from __future__ import annotations

import json
import re
import shutil

import jinja2
import pytest
from conftest import build_dir, load_manifest, write_config, write_tree

from assetpipe import Manifest
from assetpipe.errors import BuildError, UsageError
from assetpipe.jinja import install

APP = {
    "js/app.mjs": 'import { util } from "./util.mjs";\nimport { a } from "./cycle/a.js";\n'
                  'import _ from "lodash";\nexport const go = () => import("./lazy.js");\n'
                  'new Worker(new URL("./worker.js", import.meta.url), { type: "module" });\n',
    "js/util.mjs": 'import { leaf } from "./leaf.js";\nexport const util = () => leaf;\n',
    "js/leaf.js": "export const leaf = 1;\n",
    "js/lazy.js": 'export const lazy = "lazy";\n',
    "js/worker.js": 'import { leaf } from "./leaf.js";\npostMessage(leaf);\n',
    "js/cycle/a.js": 'import { b } from "./b.js";\nexport const a = () => b;\n',
    "js/cycle/b.js": 'import { a } from "./a.js";\nimport { c } from "./c.js";\n'
                     'export const b = () => [a, c];\n',
    "js/cycle/c.js": "export const c = 3;\n",
    "js/other.js": "export const other = 2;\n",
    "vendor/lodash.js": "export default function (x) { return x; }\n",
}
CONFIG = '[versioning]\nkeep_unversioned = false\n[importmap]\nlodash = "vendor/lodash.js"\n'


def build_app(tmp_path, files=APP, extra=CONFIG):
    write_tree(tmp_path / "static", files)
    report = build_dir(write_config(tmp_path, extra=extra))
    return report, load_manifest(tmp_path / "out")


def paths(manifest: dict) -> dict[str, str]:
    return {name: entry["path"] for name, entry in manifest["assets"].items()}


def test_specifiers_rewritten_to_versioned_names_that_exist(tmp_path):
    _, manifest = build_app(tmp_path)
    out = tmp_path / "out"
    app = (out / manifest["assets"]["js/app.mjs"]["path"]).read_text()
    names = paths(manifest)
    for target in ("js/util.mjs", "js/cycle/a.js", "js/lazy.js", "js/worker.js"):
        assert "./" + names[target][len("js/"):] in app
    assert '"lodash"' in app   # bare: left to the import map
    for path in names.values():
        text = (out / path).read_text()
        for spec in re.findall(r'["\'](\.{1,2}/[^"\']+)["\']', text):
            target = (out / path).parent / spec
            assert target.is_file(), f"{path} names {spec}"
            assert re.search(r"\.v[0-9a-f]{10}\.m?js$", spec), spec


def test_cycle_members_share_a_version_and_point_at_each_other(tmp_path):
    _, manifest = build_app(tmp_path)
    names = paths(manifest)
    version = re.compile(r"\.v([0-9a-f]+)\.")
    assert version.search(names["js/cycle/a.js"])[1] == version.search(names["js/cycle/b.js"])[1]
    a = (tmp_path / "out" / names["js/cycle/a.js"]).read_text()
    b = (tmp_path / "out" / names["js/cycle/b.js"]).read_text()
    assert names["js/cycle/b.js"].split("/")[-1] in a
    assert names["js/cycle/a.js"].split("/")[-1] in b
    assert names["js/cycle/c.js"].split("/")[-1] in b


def test_two_builds_are_byte_identical(tmp_path):
    build_app(tmp_path / "one")
    build_app(tmp_path / "two")
    def files(root):
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
                if p.is_file() and ".assetpipe" not in p.parts and p.name != "manifest.json"}
    assert files(tmp_path / "one" / "out") == files(tmp_path / "two" / "out")


def changed_after_edit(tmp_path, edit: str) -> set[str]:
    _, before = build_app(tmp_path)
    path = tmp_path / "static" / edit
    path.write_text(path.read_text() + "export const edited = 1;\n")
    build_dir(write_config(tmp_path, extra=CONFIG))
    after = load_manifest(tmp_path / "out")
    old, new = paths(before), paths(after)
    return {name for name in old if old[name] != new[name]}


def test_leaf_change_reversions_exactly_it_and_its_importers(tmp_path):
    assert changed_after_edit(tmp_path, "js/leaf.js") == {
        "js/leaf.js", "js/util.mjs", "js/worker.js", "js/app.mjs"}


def test_change_inside_a_cycle_reversions_the_cycle_and_its_importers(tmp_path):
    assert changed_after_edit(tmp_path, "js/cycle/b.js") == {
        "js/cycle/a.js", "js/cycle/b.js", "js/app.mjs"}


def test_change_below_a_cycle_reversions_the_cycle(tmp_path):
    assert changed_after_edit(tmp_path, "js/cycle/c.js") == {
        "js/cycle/c.js", "js/cycle/a.js", "js/cycle/b.js", "js/app.mjs"}


def test_manifest_records_static_imports_and_the_import_map(tmp_path):
    _, manifest = build_app(tmp_path)
    assets = manifest["assets"]
    assert assets["js/app.mjs"]["imports"] == ["js/util.mjs", "js/cycle/a.js"]
    assert assets["js/cycle/b.js"]["imports"] == ["js/cycle/a.js", "js/cycle/c.js"]
    assert "imports" not in assets["js/leaf.js"]
    assert manifest["importmap"] == {"lodash": "vendor/lodash.js"}


def test_mjs_is_minified_with_twins(tmp_path):
    _, manifest = build_app(tmp_path)
    entry = manifest["assets"]["js/app.mjs"]
    text = (tmp_path / "out" / entry["path"]).read_text()
    assert "\n" not in text.strip() and "gzip" in entry["encodings"]


def test_dangling_specifiers_reported_together_with_file_and_line(tmp_path):
    files = dict(APP, **{"js/bad.mjs": 'import "./gone.js";\nconst x = import("../nope.mjs");\n'})
    with pytest.raises(BuildError) as err:
        build_app(tmp_path, files)
    assert "2 broken references" in str(err.value)
    assert "js/bad.mjs:1: './gone.js' not found" in str(err.value)
    assert "js/bad.mjs:2: '../nope.mjs' not found" in str(err.value)


def test_bundler_style_specifier_resolved_to_the_real_file(tmp_path):
    files = {"src/index.js": 'export * from "./constants";\nexport * from "./diff";\n',
             "src/constants.js": "export const A = 1;\n",
             "src/diff/index.js": "export const B = 2;\n"}
    _, manifest = build_app(tmp_path, files, extra="")
    text = (tmp_path / "out" / manifest["assets"]["src/index.js"]["path"]).read_text()
    assert re.search(r'"\./constants\.v[0-9a-f]+\.js"', text)
    assert re.search(r'"\./diff/index\.v[0-9a-f]+\.js"', text)


def test_rewriting_switched_off_leaves_specifiers(tmp_path):
    _, manifest = build_app(tmp_path, extra=CONFIG + "[references]\nmodules = false\n")
    app = (tmp_path / "out" / manifest["assets"]["js/app.mjs"]["path"]).read_text()
    assert '"./util.mjs"' in app and '"./cycle/a.js"' in app


def test_import_map_naming_an_unknown_asset_is_a_config_error(tmp_path):
    with pytest.raises(UsageError, match='importmap."lodash": \'vendor/nope.js\''):
        build_app(tmp_path, extra='[importmap]\nlodash = "vendor/nope.js"\n')


def test_bundle_of_modules_refused_unless_classic(tmp_path):
    bundle = '[[bundle]]\nname = "all.js"\nfiles = ["js/leaf.js", "js/other.js"]\n'
    with pytest.raises(BuildError, match="'all.js': js/leaf.js is an ES module"):
        build_app(tmp_path, extra=bundle)
    shutil.rmtree(tmp_path / "out")
    build_app(tmp_path, extra=bundle.replace("files", "classic = true\nfiles"))


def render(manifest: Manifest, source: str, dev: bool = False) -> str:
    env = jinja2.Environment(autoescape=True)
    install(env, manifest, dev=dev)
    return env.from_string(source).render()


def test_importmap_tag_has_versioned_urls_and_integrity(tmp_path):
    build_app(tmp_path)
    m = Manifest.load(tmp_path / "out" / "manifest.json")
    html = render(m, '{{ importmap_tag("js/app.mjs") }}')
    body = json.loads(html.removeprefix('<script type="importmap">').removesuffix("</script>"))
    assert body["imports"] == {"lodash": m.url("vendor/lodash.js")}
    closure = ["vendor/lodash.js", "js/app.mjs", "js/util.mjs", "js/cycle/a.js", "js/leaf.js",
               "js/cycle/b.js", "js/cycle/c.js"]
    assert body["integrity"] == {m.url(n): m.integrity(n) for n in closure}


def test_modulepreload_tags_cover_the_static_closure_with_sri(tmp_path):
    build_app(tmp_path)
    m = Manifest.load(tmp_path / "out" / "manifest.json")
    html = render(m, '{{ modulepreload_tags("js/util.mjs") }}')
    assert html.split("\n") == [
        f'<link rel="modulepreload" href="{m.url(n)}" integrity="{m.integrity(n)}" '
        'crossorigin="anonymous">' for n in ("js/util.mjs", "js/leaf.js")]


def test_dev_mode_helpers_give_plain_names_without_integrity(tmp_path):
    build_app(tmp_path)
    m = Manifest.load(tmp_path / "out" / "manifest.json")
    assert render(m, '{{ modulepreload_tags("js/util.mjs") }}', dev=True).split("\n") == [
        '<link rel="modulepreload" href="/static/js/util.mjs" crossorigin="anonymous">',
        '<link rel="modulepreload" href="/static/js/leaf.js" crossorigin="anonymous">']
    html = render(m, "{{ importmap_tag() }}", dev=True)
    assert '"lodash": "/static/vendor/lodash.js"' in html and "integrity" not in html
