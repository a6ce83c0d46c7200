"""assetpipe.minify: bundles of real libraries keep their token stream; ASI-safe joins."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from assetpipe import minify
from conftest import build_dir, load_manifest, write_config, write_tree

TOKENS_JS = Path(__file__).with_name("js_tokens.js")
LIBRARIES = ["jquery/dist/jquery.js", "lodash/lodash.js", "moment/moment.js", "d3/dist/d3.js",
             "chart.js/dist/chart.umd.js"]
SEPARATOR_TOKEN = '[";",null]'


def js_tokens(path: Path, acorn_dir: Path) -> list[str]:
    result = subprocess.run(["node", str(TOKENS_JS), str(path)], capture_output=True, text=True,
                            env=dict(os.environ, NODE_PATH=str(acorn_dir)))
    assert result.returncode == 0, f"{path}: {result.stderr}"
    return result.stdout.splitlines()


def first_difference(a: list[str], b: list[str]) -> str:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"token {i}: {x} != {y} (context {a[max(0, i - 5):i + 5]})"
    return f"lengths differ: {len(a)} != {len(b)}"


@pytest.fixture(scope="module")
def library_bundle(corpus_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("library-bundle")
    for name in LIBRARIES:
        (root / "static" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(corpus_dir / name, root / "static" / name)
    files = ", ".join(json.dumps(name) for name in LIBRARIES)
    cfg = write_config(root, extra=f'[[bundle]]\nname = "vendor.js"\nfiles = [{files}]\n')
    build_dir(cfg)
    output = root / "out"
    return root / "static", output / load_manifest(output)["assets"]["vendor.js"]["path"]


def test_library_bundle_parses_with_node(library_bundle):
    _, bundle = library_bundle
    result = subprocess.run(["node", "--check", str(bundle)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_library_bundle_has_the_token_stream_of_its_sources(library_bundle, acorn_dir):
    source, bundle = library_bundle
    expected: list[str] = []
    for i, name in enumerate(LIBRARIES):
        if i:
            expected.append(SEPARATOR_TOKEN)   # minify.JS_SEPARATOR between members
        expected.extend(js_tokens(source / name, acorn_dir))
    actual = js_tokens(bundle, acorn_dir)
    assert len(expected) > 100_000           # really the five libraries
    assert actual == expected, first_difference(actual, expected)
    assert bundle.stat().st_size < sum((source / n).stat().st_size for n in LIBRARIES) * 0.7


def test_separator_is_one_semicolon_token():
    assert [c for c in minify.JS_SEPARATOR if not c.isspace()] == [";"]


@pytest.mark.parametrize("minify_js", ["true", "false"])
def test_bundle_of_statement_without_semicolon_and_iife_runs(tmp_path, minify_js):
    # Joined naively, `var x = 1` + `(function(){...})()` calls 1 as a function.
    write_tree(tmp_path / "static", {
        "a.js": "var x = 1\n",
        "b.js": "(function(){ console.log('x=' + x) })()\n",
        "c.js": "var y = 2 // a trailing comment with no newline at the end",
        "d.js": "console.log('y=' + y)\n",
    })
    cfg = write_config(tmp_path, extra=f'[minify]\njs = {minify_js}\n[[bundle]]\nname = "all.js"\n'
                                       'files = ["a.js", "b.js", "c.js", "d.js"]\n')
    build_dir(cfg)
    output = tmp_path / "out"
    bundle = output / load_manifest(output)["assets"]["all.js"]["path"]
    result = subprocess.run(["node", str(bundle)], capture_output=True, text=True)
    assert (result.returncode, result.stdout, result.stderr) == (0, "x=1\ny=2\n", "")


def test_join_css_hoists_one_charset_to_the_top():
    joined = minify.join_css(['@charset "UTF-8";\na{color:red}', "b{color:blue}",
                              '\ufeff@charset "utf-8"; c{x:y}'])
    assert joined == '@charset "UTF-8";\na{color:red}\nb{color:blue}\nc{x:y}\n'


@pytest.mark.parametrize("path, expected", [
    ("js/jquery.min.js", True), ("css/x.min.css", True), ("js/app.js", False),
    ("min.js/app.js", False),
])
def test_is_preminified(path, expected):
    assert minify.is_preminified(path) is expected


def test_minify_keeps_licence_comments_and_drops_others():
    out = minify.minify_js("/*! MIT licence */\n/* private */\nvar a = 1;\n")
    assert "/*! MIT licence */" in out and "private" not in out
