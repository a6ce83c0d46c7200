"""`assetpipe build --watch` as a real subprocess: rebuilds on save, survives
a broken config and a broken build, stops on SIGTERM/SIGINT."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CONFIG = """\
source = "static"
output = "out"

[images]
png = "off"
"""
DEADLINE = 15.0


def wait_for(predicate, what: str, timeout: float = DEADLINE):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def asset_path(site: Path, name: str) -> str | None:
    try:
        manifest = json.loads((site / "out" / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    entry = manifest["assets"].get(name)
    return entry and entry["path"]


@pytest.fixture
def watcher(tmp_path):
    (tmp_path / "assetpipe.toml").write_text(CONFIG)
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "a.js").write_text("var a = 1;\n")
    stderr = tmp_path / "stderr.txt"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    with open(stderr, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "assetpipe", "build", "--watch", "-j", "1",
                                 "--config", str(tmp_path / "assetpipe.toml")],
                                stdout=subprocess.DEVNULL, stderr=err, env=env)
    try:
        yield tmp_path, proc, stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def save(site: Path, name: str, text: str) -> None:
    (site / "static" / name).write_text(text)


def test_watch_rebuilds_on_save_and_stops_on_sigterm(watcher):
    site, proc, _ = watcher
    first = wait_for(lambda: asset_path(site, "a.js"), "the first build")
    save(site, "a.js", "var a = 'saved';\n")
    wait_for(lambda: asset_path(site, "a.js") not in (None, first), "a rebuild after a save")
    save(site, "new.css", "body { color: red }\n")
    wait_for(lambda: asset_path(site, "new.css"), "a new file to be picked up")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=DEADLINE) == 0


def test_watch_survives_a_broken_config_and_a_broken_build(watcher):
    site, proc, stderr = watcher
    first = wait_for(lambda: asset_path(site, "a.js"), "the first build")
    (site / "assetpipe.toml").write_text(CONFIG + "[minify\n")
    wait_for(lambda: "invalid TOML" in stderr.read_text(), "the config error to be reported")
    save(site, "a.js", "var a = 'while broken';\n")
    (site / "assetpipe.toml").write_text(CONFIG)
    wait_for(lambda: asset_path(site, "a.js") not in (None, first),
             "a rebuild once the config is fixed")
    fixed = asset_path(site, "a.js")
    assert "while broken" in (site / "out" / fixed).read_text()

    save(site, "b.css", "body { background: url(missing.png) }\n")
    wait_for(lambda: "missing.png" in stderr.read_text(), "the build error to be reported")
    save(site, "b.css", "body { color: blue }\n")
    wait_for(lambda: asset_path(site, "b.css"), "a rebuild once the CSS is fixed")
    assert asset_path(site, "a.js") == fixed
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=DEADLINE) == 0
