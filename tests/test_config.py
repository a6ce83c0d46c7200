"""assetpipe.config: lookup order, paths, validation messages, the optional sections."""
from __future__ import annotations

import os
import re

import pytest

from assetpipe.cli import main
from assetpipe.config import load_config
from conftest import PNG_OFF, build_dir, load_manifest, write_config, write_tree


def bad_config(tmp_path, capsys, text: str) -> tuple[int, str]:
    write_tree(tmp_path / "static", {"app.js": "var a;\n"})
    cfg = tmp_path / "assetpipe.toml"
    cfg.write_text('source = "static"\noutput = "out"\n' + text)
    code = main(["build", "--config", str(cfg)])
    out, err = capsys.readouterr()
    assert out == ""
    return code, err


@pytest.mark.parametrize("text, message", [
    ("sorce = 'x'\n", "error: unknown config key 'sorce' (did you mean 'source'?)\n"),
    ("[minify]\njss = true\n", "error: unknown config key 'minify.jss' (did you mean 'minify.js'?)\n"),
    ("[compress]\nzstd = true\n", "error: unknown config key 'compress.zstd'\n"),
    ("[minify]\njs = 'yes'\n", "error: minify.js: expected bool, got str 'yes'\n"),
    ("[versioning]\nlength = true\n", "error: versioning.length: expected int, got bool True\n"),
    ("[versioning]\nlength = 7\n", "error: versioning.length: 7 is outside 8..32\n"),
    ("[versioning]\nstrategy = 'sha1'\n",
     "error: versioning.strategy: 'sha1' is not one of hash, git, mtime\n"),
    ("[compress]\ngzip_suffix = 'gz'\n",
     "error: compress.gzip_suffix: 'gz' is not one of .gzip, .gz\n"),
    ("[[bundle]]\nname = 'a.js'\nfile = ['app.js']\n",
     "error: unknown config key 'bundle[0].file' (did you mean 'bundle[0].files'?)\n"),
    *[(f"[[bundle]]\nname = '{name}'\nfiles = ['app.js']\n",
       f"error: bundle[0].name: '{name}' must be a file path inside the output folder without "
       "'..' or dot-named parts, e.g. \"js/site.js\"\n")
      for name in ("../../evil.css", "", "a.js/", ".hidden.js", "/abs.js", "js/.x/a.js")],
])
def test_bad_config_exits_2_naming_the_key(tmp_path, capsys, text, message):
    assert bad_config(tmp_path, capsys, text) == (2, message)


def test_output_inside_source_is_refused(tmp_path, capsys):
    write_tree(tmp_path / "static", {"app.js": "var a;\n"})
    cfg = write_config(tmp_path, output="static/build")
    assert main(["build", "--config", str(cfg)]) == 2
    assert capsys.readouterr().err == (
        "error: output: 'static/build' is inside source 'static'; "
        "choose an output folder outside the source folder\n")
    assert not (tmp_path / "static" / "build").exists()


def test_missing_required_key(tmp_path, capsys):
    cfg = tmp_path / "assetpipe.toml"
    cfg.write_text('output = "out"\n')
    assert main(["build", "--config", str(cfg)]) == 2
    assert capsys.readouterr().err == f"error: {cfg}: missing required key 'source'\n"


def test_invalid_toml_names_the_file(tmp_path, capsys):
    cfg = tmp_path / "assetpipe.toml"
    cfg.write_text('source = "static\n')
    assert main(["build", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {cfg}: invalid TOML: ") and err.count("\n") == 1


def _project(tmp_path):
    write_tree(tmp_path / "static", {"app.js": "var a;\n"})
    write_tree(tmp_path / "other", {"other.js": "var o;\n"})


def test_lookup_explicit_config_wins(tmp_path, monkeypatch):
    _project(tmp_path)
    write_config(tmp_path, source="static", output="from-toml")
    explicit = write_config(tmp_path, source="other", output="from-explicit", name="custom.toml")
    monkeypatch.chdir(tmp_path)
    assert main(["build", "--config", str(explicit), "--quiet"]) == 0
    assert set(load_manifest(tmp_path / "from-explicit")["assets"]) == {"other.js"}
    assert not (tmp_path / "from-toml").exists()


def test_lookup_assetpipe_toml_before_pyproject(tmp_path, monkeypatch):
    _project(tmp_path)
    write_config(tmp_path, source="static", output="from-toml")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.assetpipe]\nsource = "other"\noutput = "from-pyproject"\n' + PNG_OFF.replace(
            "[images]", "[tool.assetpipe.images]"))
    monkeypatch.chdir(tmp_path)
    assert main(["build", "--quiet"]) == 0
    assert (tmp_path / "from-toml" / "manifest.json").exists()
    assert not (tmp_path / "from-pyproject").exists()


def test_lookup_pyproject_tool_section(tmp_path, monkeypatch):
    _project(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.assetpipe]\nsource = "other"\noutput = "from-pyproject"\n'
        '[tool.assetpipe.images]\npng = "off"\n')
    monkeypatch.chdir(tmp_path)
    assert main(["build", "--quiet"]) == 0
    assert set(load_manifest(tmp_path / "from-pyproject")["assets"]) == {"other.js"}


def test_lookup_pyproject_without_section_and_no_config(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["build"]) == 2
    assert "no config: pass --config FILE" in capsys.readouterr().err
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert main(["build"]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'pyproject.toml'}: no [tool.assetpipe] section\n"


def test_relative_paths_are_relative_to_the_config_file(tmp_path, monkeypatch):
    project = tmp_path / "project"
    write_tree(project / "assets", {"app.js": "var a;\n"})
    cfg = write_config(project, source="assets", output="../built")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(os.path.relpath(cfg, elsewhere))
    assert (config.source, config.output) == (str(project / "assets"), str(tmp_path / "built"))
    assert main(["build", "--config", os.path.relpath(cfg, elsewhere), "--quiet"]) == 0
    assert (tmp_path / "built" / "manifest.json").exists()
    assert list(elsewhere.iterdir()) == []


def test_keep_unversioned_false_writes_no_plain_copies(tmp_path):
    write_tree(tmp_path / "static", {"js/app.js": "function app() { return 1; }\n" * 30})
    build_dir(write_config(tmp_path, extra="[versioning]\nkeep_unversioned = false\n"))
    output = tmp_path / "out"
    files = sorted(p.relative_to(output).as_posix() for p in output.rglob("*")
                   if p.is_file())
    entry = load_manifest(output)["assets"]["js/app.js"]
    assert files == sorted(["manifest.json", entry["path"], entry["encodings"]["gzip"]])


def test_gzip_suffix_gz(tmp_path):
    write_tree(tmp_path / "static", {"js/app.js": "function app() { return 1; }\n" * 30})
    build_dir(write_config(tmp_path, extra='[compress]\ngzip_suffix = ".gz"\n'))
    output = tmp_path / "out"
    entry = load_manifest(output)["assets"]["js/app.js"]
    assert entry["encodings"] == {"gzip": entry["path"] + ".gz"}
    assert (output / (entry["path"] + ".gz")).is_file() and (output / "js/app.js.gz").is_file()
    assert not list(output.rglob("*.gzip"))


@pytest.mark.parametrize("length", [8, 32])
def test_versioning_length(tmp_path, length):
    write_tree(tmp_path / "static", {"app.js": "var a;\n", "LICENSE": "MIT\n"})
    build_dir(write_config(tmp_path, extra=f"[versioning]\nlength = {length}\n"))
    assets = load_manifest(tmp_path / "out")["assets"]
    assert re.fullmatch(rf"app\.v[0-9a-f]{{{length}}}\.js", assets["app.js"]["path"])
    assert re.fullmatch(rf"LICENSE\.v[0-9a-f]{{{length}}}", assets["LICENSE"]["path"])


@pytest.mark.parametrize("strategy, renamed", [("mtime", True), ("hash", False)])
def test_strategy_mtime_versions_by_modification_time(tmp_path, strategy, renamed):
    write_tree(tmp_path / "static", {"app.js": "var a;\n", "other.js": "var o;\n"})
    for name in ("app.js", "other.js"):
        os.utime(tmp_path / "static" / name, ns=(10**18, 10**18))
    extra = f'[versioning]\nstrategy = "{strategy}"\n'
    build_dir(write_config(tmp_path, output="first", extra=extra))
    os.utime(tmp_path / "static" / "app.js", ns=(2 * 10**18, 2 * 10**18))
    build_dir(write_config(tmp_path, output="second", extra=extra))
    first = load_manifest(tmp_path / "first")["assets"]
    second = load_manifest(tmp_path / "second")["assets"]
    assert (first["app.js"]["path"] != second["app.js"]["path"]) is renamed
    assert first["other.js"]["path"] == second["other.js"]["path"]
    assert first["app.js"]["integrity"] == second["app.js"]["integrity"]
