"""Issue 14 acceptance on the real ES-module packages of the public corpus.

Built with keep_unversioned = false, every relative specifier in every built
module names an existing versioned file, and every built module has its
source's acorn token stream (sourceType "module"; only specifier strings may
differ, by their version).  Checked by node + acorn, not by assetpipe's code.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from conftest import build_dir, load_manifest, manifest_problems, missing_tool, write_config

pytestmark = pytest.mark.integration

PACKAGES = ["lodash-es", "preact", "d3-array", "d3-color", "d3-interpolate", "d3-format",
            "d3-scale", "d3-time"]
CHECK_JS = os.path.join(os.path.dirname(__file__), "js_module_check.js")


@pytest.fixture(scope="module")
def module_build(corpus_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus-modules")
    for name in PACKAGES:
        if not (corpus_dir / name / "package.json").is_file():
            pytest.fail(f"{corpus_dir / name} missing: the corpus must include {name}")
        shutil.copytree(corpus_dir / name, root / "static" / name)
    report = build_dir(write_config(root, extra="[versioning]\nkeep_unversioned = false\n"))
    return root, report


def test_module_packages_build_and_every_module_checks_out_under_acorn(module_build, acorn_dir):
    if shutil.which("node") is None:
        missing_tool("node not found: apt-get install nodejs")
    root, report = module_build
    out = root / "out"
    assert manifest_problems(out) == []
    assets = load_manifest(out)["assets"]
    pairs = [[str(root / "static" / name), str(out / entry["path"])]
             for name, entry in assets.items()
             if name.endswith((".js", ".mjs")) and ".min." not in name]
    assert len(pairs) > 700   # lodash-es alone has ~640 modules
    result = subprocess.run(["node", CHECK_JS], input=json.dumps(pairs), capture_output=True,
                            text=True, env=dict(os.environ, NODE_PATH=str(acorn_dir)), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == "", result.stdout[:5000]
    assert f"checked {len(pairs)} modules" in result.stderr


def test_plain_names_are_not_published(module_build):
    root, _ = module_build
    assert not (root / "out" / "lodash-es" / "lodash.js").exists()
    assert not (root / "out" / "d3-scale" / "src" / "linear.js").exists()
