"""Where the build keeps its own files: never in the (served) output folder."""
from __future__ import annotations

import os
import shutil

import pytest
from conftest import build_dir, load_manifest, run_cli, state_dir, write_config, write_tree

from assetpipe.cli import main
from assetpipe.config import load_config
from assetpipe.writer import OutputLock


def a_js(n: int) -> str:
    return f"function a() {{ return {n}; }}\n" * 40


def test_default_state_dir_is_beside_the_config_one_per_output(tmp_path):
    one = load_config(str(write_config(tmp_path, output="build/static")))
    two = load_config(str(write_config(tmp_path, output="build-static", name="two.toml")))
    assert os.path.dirname(one.state_dir) == str(tmp_path / ".assetpipe")
    assert os.path.basename(one.state_dir).startswith("build-static-")
    assert one.state_dir != two.state_dir     # same slug, other output: another folder


def test_state_dir_key_is_relative_to_the_config(tmp_path):
    write_tree(tmp_path / "static", {"a.js": a_js(1)})
    cfg = write_config(tmp_path, extra='state_dir = "var/assetpipe"\n')
    build_dir(cfg)
    assert state_dir(cfg) == tmp_path / "var" / "assetpipe"
    assert (tmp_path / "var" / "assetpipe" / "state.db").is_file()
    assert not (tmp_path / ".assetpipe").exists()
    assert [p.name for p in (tmp_path / "out").rglob(".*")] == []


@pytest.mark.parametrize("value, message", [
    ('"out/.state"', "state_dir: 'out/.state' is inside output"),
    ('"out"', "state_dir: 'out' is inside output"),
    ('"static/state"', "state_dir: 'static/state' is inside source"),
    ("3", "state_dir: expected str, got int 3"),
])
def test_bad_state_dir_is_a_usage_error_naming_the_key(tmp_path, value, message):
    write_tree(tmp_path / "static", {"a.js": "var a;\n"})
    cfg = write_config(tmp_path, extra=f"state_dir = {value}\n")
    result = run_cli(["build", "--config", str(cfg)])
    assert result.returncode == 2
    assert result.stderr.startswith("error: " + message) and result.stderr.count("\n") == 1


def test_dot_named_state_dir_inside_the_source_is_allowed(tmp_path):
    write_tree(tmp_path / "static", {"a.js": a_js(1)})
    cfg = write_config(tmp_path, extra='state_dir = "static/.assetpipe-state"\n')
    build_dir(cfg)
    assert set(load_manifest(tmp_path / "out")["assets"]) == {"a.js"}
    assert build_dir(cfg).noop


def _legacy_layout(tmp_path):
    """Two builds with history, then the state moved where older releases kept it."""
    write_tree(tmp_path / "static", {"a.js": a_js(1)})
    cfg = write_config(tmp_path)
    build_dir(cfg)
    first = load_manifest(tmp_path / "out")
    write_tree(tmp_path / "static", {"a.js": a_js(2)})
    build_dir(cfg)
    state, legacy = state_dir(cfg), tmp_path / "out" / ".assetpipe"
    history = sorted(os.listdir(state / "history"))
    shutil.move(state, legacy)
    (legacy / "lock").write_text("")
    return cfg, legacy, history, first


def test_first_build_moves_the_old_state_out_of_the_output(tmp_path):
    cfg, legacy, history, _ = _legacy_layout(tmp_path)
    report = build_dir(cfg)
    assert not legacy.exists()
    assert sorted(os.listdir(state_dir(cfg) / "history")) == history
    assert not (state_dir(cfg) / "lock").exists()
    # The moved cache was good: nothing was redone.
    assert report.processed == 0 and build_dir(cfg).noop


def test_clean_counts_the_old_outputs_history(tmp_path, capsys):
    cfg, legacy, history, first = _legacy_layout(tmp_path)
    old_path = first["assets"]["a.js"]["path"]
    assert main(["clean", "--config", str(cfg), "--keep", "2", "--min-age", "0"]) == 0
    assert (tmp_path / "out" / old_path).is_file()       # protected by the 2 moved entries
    assert main(["clean", "--config", str(cfg), "--keep", "1", "--min-age", "0"]) == 0
    assert not (tmp_path / "out" / old_path).exists()
    assert f"removed {old_path}" in capsys.readouterr().out
    assert not legacy.exists() and len(os.listdir(state_dir(cfg) / "history")) == 1


def test_lock_serialises_builds_of_one_output_from_any_config(tmp_path):
    """Two configs in two folders name one output: two state folders, one lock."""
    write_tree(tmp_path / "static", {"a.js": "var a;\n"})
    write_config(tmp_path)
    other = tmp_path / "elsewhere"
    other.mkdir()
    cfg = write_config(other, source=tmp_path / "static", output=str(tmp_path / "out"))
    assert state_dir(cfg) != state_dir(tmp_path / "assetpipe.toml")
    with OutputLock(str(tmp_path / "out")):
        result = run_cli(["build", "--config", str(cfg)])
    assert result.returncode == 1
    assert "another assetpipe build is running on this output folder" in result.stderr
    assert run_cli(["build", "--config", str(cfg), "--quiet"]).returncode == 0
