"""assetpipe.manifest: the runtime reader (stdlib only) and the shipped JSON Schema."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import jsonschema
import pytest

from assetpipe import AssetNotFound, Manifest
from conftest import REPO, build_dir, load_manifest, write_config, write_tree

SCHEMA = REPO / "assetpipe" / "manifest.schema.json"
HEAVY = ["jinja2", "click", "rich", "PIL", "rjsmin", "rcssmin", "git", "boto3", "markupsafe",
         "brotli", "assetpipe.build", "assetpipe.cli"]


def test_import_manifest_uses_only_the_standard_library():
    code = ("import sys; from assetpipe import Manifest; "
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, cwd="/")
    assert (result.returncode, result.stdout) == (0, "[]\n"), result.stderr


@pytest.fixture
def site(tmp_path):
    write_tree(tmp_path / "static", {"js/a.js": "var a = 1;\n", "js/b.js": "var b = 2;\n",
                                     "css/site.css": "body { color: red; }\n"})
    cfg = write_config(tmp_path, extra='url_prefix = "https://cdn.example.com/static/"\n'
                                       '[[bundle]]\nname = "js/all.js"\nfiles = ["js/*.js"]\n')
    build_dir(cfg)
    return cfg, tmp_path / "out"


def test_url_and_integrity_with_cdn_prefix(site):
    _, output = site
    m = Manifest.load(output / "manifest.json")
    entry = load_manifest(output)["assets"]["js/all.js"]
    assert m.url("js/all.js") == "https://cdn.example.com/static/" + entry["path"]
    assert m.integrity("js/all.js") == entry["integrity"]
    assert m.sources("js/all.js") == ["js/a.js", "js/b.js"]
    assert m.sources("css/site.css") == ["css/site.css"]
    assert Manifest.load(output / "manifest.json", url_prefix="/s/").url("js/all.js") == "/s/" + entry["path"]


def test_missing_asset_is_a_keyerror_naming_it(site):
    _, output = site
    m = Manifest.load(output / "manifest.json")
    with pytest.raises(KeyError) as info:
        m.url("js/nope.js")
    assert isinstance(info.value, AssetNotFound)
    assert "'js/nope.js' is not in" in str(info.value) and str(output / "manifest.json") in str(info.value)
    assert "js/nope.js" not in m and "js/a.js" in m


def test_reload_if_changed_picks_up_a_rebuilt_manifest(site):
    cfg, output = site
    m = Manifest.load(output / "manifest.json")
    old_url = m.url("js/a.js")
    assert m.reload_if_changed() is False
    (cfg.parent / "static" / "js" / "a.js").write_text("var a = 'changed';\n")
    build_dir(cfg)
    assert m.reload_if_changed() is True
    assert m.url("js/a.js") != old_url
    assert m.url("js/a.js") == "https://cdn.example.com/static/" + load_manifest(output)["assets"]["js/a.js"]["path"]


def test_unsupported_manifest_version_is_refused(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"manifest_version": 2, "assets": {}}))
    with pytest.raises(ValueError, match="manifest_version 2 is not supported"):
        Manifest.load(path)


def _validator():
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_schema_ships_in_the_package():
    assert SCHEMA.is_file()
    pyproject = (REPO / "pyproject.toml").read_text()
    assert 'assetpipe = ["*.json"]' in pyproject   # package-data


def test_built_manifests_validate_against_the_schema(site, corpus_build):
    validator = _validator()
    for output in (site[1], corpus_build[2]):
        errors = [e.message for e in validator.iter_errors(load_manifest(output))]
        assert errors == []


def test_schema_rejects_a_broken_manifest(site):
    doc = load_manifest(site[1])
    doc["assets"]["js/a.js"]["path"] = "js/a.js"           # not a versioned name
    doc["assets"]["js/b.js"]["integrity"] = "md5-xyz"
    assert len(list(_validator().iter_errors(doc))) == 2


def test_url_percent_encodes_the_path(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"manifest_version": 1, "url_prefix": "/static/", "assets": {
        "img/a #1?.png": {"path": "img/a #1?.v0123456789.png", "integrity": "sha384-x"},
        "50%.txt": {"path": "50%.v0123456789.txt", "integrity": "sha384-y"},
        "é.css": {"path": "é.v0123456789.css", "integrity": "sha384-z"}}}))
    m = Manifest.load(path)
    assert m.url("img/a #1?.png") == "/static/img/a%20%231%3F.v0123456789.png"
    assert m.url("50%.txt") == "/static/50%25.v0123456789.txt"
    assert m.url("é.css") == "/static/%C3%A9.v0123456789.css"
