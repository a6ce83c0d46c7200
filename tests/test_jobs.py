"""assetpipe.jobs: a file the build cannot read is an error naming it.

Tests run as root in CI, and root reads anything: the build is run with the
two capabilities that let root ignore file modes (CAP_DAC_OVERRIDE,
CAP_DAC_READ_SEARCH) dropped from its bounding set, so `chmod 000` is honest.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO, write_config, write_tree


def _without_root_read_override() -> list[str]:
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("running as root needs setpriv (util-linux) to drop CAP_DAC_OVERRIDE")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]


def _run_build(cfg) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([*_without_root_read_override(), sys.executable, "-m", "assetpipe",
                           "build", "--config", str(cfg)], env=env, capture_output=True, text=True)


def test_unreadable_file_is_an_error_naming_it(tmp_path):
    write_tree(tmp_path / "static", {"js/app.js": "var a;\n", "js/secret.js": "var s;\n"})
    (tmp_path / "static" / "js" / "secret.js").chmod(0)
    cfg = write_config(tmp_path)
    result = _run_build(cfg)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "error: js/secret.js: cannot read file: Permission denied\n"


def test_unreadable_folder_is_an_error_naming_it(tmp_path):
    write_tree(tmp_path / "static", {"js/app.js": "var a;\n", "private/x.js": "var x;\n"})
    (tmp_path / "static" / "private").chmod(0)
    try:
        result = _run_build(write_config(tmp_path))
    finally:
        (tmp_path / "static" / "private").chmod(0o755)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"error: {tmp_path / 'static' / 'private'}: cannot read folder: Permission denied\n"
