"""assetpipe.writer: the output lock, atomic/immutable writes, sweeping a killed build's litter."""
from __future__ import annotations

import pytest

from assetpipe.errors import BuildError
from assetpipe.writer import OutputLock, write_atomic, write_immutable
from conftest import (build_dir, load_manifest, run_cli, state_dir, temp_litter, write_config,
                      write_tree)


def test_second_build_on_a_locked_output_is_refused(tmp_path):
    write_tree(tmp_path / "static", {"app.js": "var a;\n"})
    cfg = write_config(tmp_path)
    output = tmp_path / "out"
    with OutputLock(str(output)):
        result = run_cli(["build", "--config", str(cfg)])
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (f"error: {output}: another assetpipe build is running on this output "
                             "folder; wait for it to finish\n")
    assert not (output / "manifest.json").exists()
    # Released: the same command now succeeds.
    assert run_cli(["build", "--config", str(cfg), "--quiet"]).returncode == 0
    assert "app.js" in load_manifest(output)["assets"]


def test_lock_is_exclusive_within_one_process_too(tmp_path):
    with OutputLock(str(tmp_path)):
        with pytest.raises(BuildError, match="another assetpipe build is running"):
            with OutputLock(str(tmp_path)):
                pass
    with OutputLock(str(tmp_path)):   # released on exit
        pass


def test_write_immutable_keeps_existing_and_refuses_different_content(tmp_path):
    path = tmp_path / "a.v0123456789.js"
    assert write_immutable(str(path), b"one") is True
    assert write_immutable(str(path), b"one") is False
    with pytest.raises(BuildError, match="refusing to overwrite versioned file"):
        write_immutable(str(path), b"three")
    assert path.read_bytes() == b"one"


def test_write_atomic_replaces_and_leaves_no_temp(tmp_path):
    path = tmp_path / "sub" / "manifest.json"
    write_atomic(str(path), b"old")
    write_atomic(str(path), b"new")
    assert path.read_bytes() == b"new" and temp_litter(tmp_path) == []


def test_build_after_a_kill_sweeps_temp_files_everywhere(tmp_path):
    """What a SIGKILL can leave: the `building` marker, temp files next to outputs and in the
    state folder (history entries are written via temp + rename too)."""
    write_tree(tmp_path / "static", {"js/app.js": "var a;\n"})
    cfg = write_config(tmp_path)
    build_dir(cfg)
    output, state = tmp_path / "out", state_dir(cfg)
    (state / "building").write_text("12345")
    litter = [output / "js" / ".assetpipe-tmp-12345-0a0b0c0d-app.v0123456789.js",
              output / ".assetpipe-tmp-12345-0a0b0c0d-manifest.json",
              state / ".assetpipe-tmp-12345-0a0b0c0d-state.json"]
    for path in litter:
        path.write_bytes(b"partial")
    report = build_dir(cfg)
    assert not report.noop
    assert temp_litter(output) == [] and temp_litter(state) == []
    assert not (state / "building").exists()
