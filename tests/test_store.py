"""assetpipe.store: the SQLite build state — written in proportion to the
change, consistent after a kill at any point of its write, and never in the
way when it is corrupt or missing."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import (
    REPO,
    build_dir,
    load_manifest,
    manifest_problems,
    state_dir,
    temp_litter,
    write_config,
    write_tree,
)


def state_db(cfg) -> str:
    from assetpipe.state import STORE_NAME
    return str(state_dir(cfg) / STORE_NAME)


@pytest.fixture
def site(tmp_path):
    files = {f"d{n // 50}/f{n}.js": f"function f{n}() {{ return {n}; }}\n" for n in range(400)}
    files["img/a.svg"] = "<svg/>\n"
    files["css/site.css"] = ".a { background: url(../img/a.svg) }\n"
    write_tree(tmp_path / "static", files)
    return write_config(tmp_path)


def integrity(db_path) -> str:
    with sqlite3.connect(db_path) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def test_a_one_file_edit_writes_a_few_pages_not_the_state(site):
    build_dir(site)
    db_path = state_db(site)
    with sqlite3.connect(db_path) as db:   # move everything out of the write-ahead log
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert os.path.getsize(db_path + "-wal") == 0
    (site.parent / "static/d3/f150.js").write_text("function f150() { return 'edited'; }\n")
    report = build_dir(site)
    assert report.processed == 1
    wal = os.path.getsize(db_path + "-wal")
    # The commit appended only the pages it changed (4 KiB each) to the log.
    assert 0 < wal < 40 * 4096 < os.path.getsize(db_path)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "missing", "other-format"])
def test_a_corrupt_or_missing_store_is_rebuilt_not_blocking(site, damage):
    build_dir(site)
    out = site.parent / "out"
    expected = load_manifest(out)["assets"]
    db_path = Path(state_db(site))
    if damage == "garbage":
        db_path.write_bytes(b"this is not a database\n" * 100)
    elif damage == "truncated":
        db_path.write_bytes(db_path.read_bytes()[:3000])
    elif damage == "missing":
        db_path.unlink()
    else:
        with sqlite3.connect(db_path) as db:
            db.execute("UPDATE meta SET value = '999' WHERE key = 'format'")
    (site.parent / "static/d0/f1.js").write_text("function f1() { return 'new'; }\n")
    report = build_dir(site)
    assets = load_manifest(out)["assets"]
    assert {k: v for k, v in assets.items() if k != "d0/f1.js"} == \
        {k: v for k, v in expected.items() if k != "d0/f1.js"}
    assert manifest_problems(out) == []
    assert integrity(db_path) == "ok"
    assert report.files == len(assets)
    # ... and the rebuilt store serves the next build incrementally again.
    (site.parent / "static/d0/f2.js").write_text("function f2() { return 'new'; }\n")
    assert build_dir(site).processed == 1


# A build run in a child process that SIGKILLs itself at one point of the
# state write: a real kill, at a moment chosen exactly rather than by a timer.
KILLER = """
import os, signal, sys
from assetpipe import store, publish
from assetpipe.cli import main
point = sys.argv[1]
def kill_after(module, name):
    real = getattr(module, name)
    def wrapper(*args, **kwargs):
        result = real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
        return result
    setattr(module, name, wrapper)
if point == "rows":          # mid-transaction: asset rows written, nothing else
    kill_after(store.Store, "put_assets")
elif point == "manifest":    # manifest and history published, not committed
    kill_after(publish, "publish_manifest")
elif point == "commit":      # committed, no fingerprint yet
    kill_after(store.Store, "commit")
sys.exit(main(["build", "--config", sys.argv[2], "--quiet"]))
"""


@pytest.mark.parametrize("point", ["rows", "manifest", "commit"])
def test_a_build_killed_during_the_state_write_converges(site, tmp_path, point):
    build_dir(site)
    out = site.parent / "out"
    old = load_manifest(out)["assets"]
    static = site.parent / "static"
    (static / "img/a.svg").write_text("<svg><g/></svg>\n")          # the CSS is renamed too
    (static / "d1/f60.js").unlink()
    (static / "d1/new.js").write_text("var added = 1;\n")
    reference = tmp_path / "reference"
    reference.mkdir()
    build_dir(write_config(reference, source=static))
    expected = load_manifest(reference / "out")["assets"]

    env = dict(os.environ, PYTHONPATH=str(REPO))
    killed = subprocess.run([sys.executable, "-c", KILLER, point, str(site)], env=env,
                            capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert manifest_problems(out) == []
    assert load_manifest(out)["assets"] in (old, expected)
    assert integrity(state_db(site)) == "ok"

    rerun = subprocess.run([sys.executable, "-m", "assetpipe", "build", "--config", str(site),
                            "--quiet"], env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert load_manifest(out)["assets"] == expected
    assert manifest_problems(out) == [] and temp_litter(out) == []
    assert not (out / "d1/f60.js").exists()        # the deleted source's plain copy went
    assert build_dir(site).noop                    # and the state describes the output again
