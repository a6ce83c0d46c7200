"""Every error a user can cause is an AssetpipeError (one line, an exit code),
and a missing engine stops the build once instead of warning per file."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import pytest
from conftest import REPO, write_config, write_tree
from PIL import Image

from assetpipe.errors import AssetpipeError
from assetpipe.manifest import AssetNotFound, Manifest
from assetpipe.pages import PageError, load_context_function


def png(colour: tuple[int, int, int]) -> bytes:
    out = BytesIO()
    Image.new("RGB", (64, 64), colour).save(out, "PNG", compress_level=0)  # room to optimise
    return out.getvalue()


def build(config: Path, python_path: list[Path]) -> subprocess.CompletedProcess:
    path = os.pathsep.join(map(str, [*python_path, REPO]))
    return subprocess.run([sys.executable, "-m", "assetpipe", "build", "--config", str(config)],
                          env=dict(os.environ, PYTHONPATH=path), capture_output=True, text=True)


def test_a_missing_png_engine_is_one_error_for_the_whole_build(tmp_path):
    write_tree(tmp_path / "static", {f"img/{i}.png": png((i * 40, 0, 0)) for i in range(4)})
    config = write_config(tmp_path, png_off=False)
    fake = write_tree(tmp_path / "fake", {"oxipng.py": 'raise ImportError("simulated")\n'})
    result = build(config, [fake])
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [
        'error: PNG recompression needs pyoxipng: pip install pyoxipng '
        '(or set images.png = "off")'], result.stderr
    assert not (tmp_path / "out/manifest.json").exists()
    # Negative control: the same site with the engine present builds.
    result = build(config, [])
    assert result.returncode == 0 and "error" not in result.stderr, result.stderr
    assert (tmp_path / "out/manifest.json").exists()


def test_manifest_errors_are_assetpipe_errors_and_stay_compatible(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text("{not json")
    with pytest.raises(AssetpipeError, match="manifest.json: not a valid manifest") as bad:
        Manifest.load(path)
    assert isinstance(bad.value, ValueError)
    path.write_text(json.dumps({"manifest_version": 1, "assets": {}}))
    with pytest.raises(KeyError) as missing:  # callers that catch KeyError still do
        Manifest.load(path).url("js/app.js")
    assert isinstance(missing.value, AssetNotFound) and isinstance(missing.value, AssetpipeError)
    assert issubclass(PageError, AssetpipeError)


def test_a_context_module_is_importable_only_while_it_is_imported(tmp_path):
    write_tree(tmp_path, {"i13_sitedata.py": "def context():\n    return {'a': 1}\n"})
    function = load_context_function("i13_sitedata:context", str(tmp_path))
    assert function() == {"a": 1}
    assert str(tmp_path) not in sys.path
