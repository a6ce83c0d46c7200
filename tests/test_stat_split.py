"""assetpipe.stat_split: a large site's files are stat'ed half in a forked child.

The split path runs in a fresh interpreter (a subprocess): the fork is taken
only from a clean process (no other thread), which a pytest process that
ran server fixtures need not be.  Each check compares the split result with
the one-process result and with os.stat itself.
"""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys

import pytest
from conftest import REPO, load_manifest, write_config, write_tree

from assetpipe import stat_split
from assetpipe.cli import main
from assetpipe.sources import Run

# The start of each script run in a fresh interpreter: every fork counted in `forks`.
COUNT_FORKS = r"""
import os, sys
forks = []
real_fork = os.fork
def counting_fork():
    forks.append(1)
    return real_fork()
os.fork = counting_fork
"""

SCRIPT = COUNT_FORKS + r"""
import json
from assetpipe import sources, stat_split
from assetpipe.errors import BuildError

def scanned(split_from):
    stat_split.SPLIT_FROM = split_from
    before = len(forks)
    try:
        files = sources.scan(sys.argv[1]).files()
    except BuildError as exc:
        return {"error": str(exc), "forked": len(forks) - before}
    return {"files": {k: list(v) for k, v in files.items()}, "forked": len(forks) - before}

# What the child holds open: the parent holds an flock like the output lock's.
import fcntl
lock = os.open(sys.argv[1], os.O_RDONLY)
fcntl.flock(lock, fcntl.LOCK_EX)
real_stat, parent = stat_split._stat, os.getpid()
def noting_stat(runs):
    if os.getpid() != parent:   # the child: written and closed before os._exit
        held = []
        for fd in os.listdir("/proc/self/fd"):
            try:
                held.append(os.readlink(f"/proc/self/fd/{fd}"))
            except OSError:
                pass   # the listing's own descriptor, closed by now
        with open(sys.argv[2], "w") as out:
            out.write(json.dumps(held))
    return real_stat(runs)
stat_split._stat = noting_stat

split, one = scanned(1), scanned(10**9)
import threading
release = threading.Event()
other = threading.Thread(target=release.wait)
other.start()
with_thread = scanned(1)
release.set()
other.join()
print(json.dumps({"split": split, "one": one, "with_thread": with_thread}))
"""


def run_scan(folder, noted) -> dict:
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(folder), str(noted)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def make_site(root) -> dict[str, str]:
    """Nested folders, a folder between a folder's files, links to a file and a folder."""
    files = {f"d{d}/f{f:02}.txt": f"{d}-{f}" for d in range(3) for f in range(40)}
    files.update({"a.css": "a", "m/a.js": "1", "m/n/b.js": "2", "m/z.js": "3", "z.txt": "z"})
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    os.symlink("d0/f00.txt", root / "link.txt")
    os.symlink("m", root / "mlink")
    return files


def test_split_stat_matches_one_process_and_os_stat(tmp_path):
    static = tmp_path / "static"
    files = make_site(static)
    result = run_scan(static, tmp_path / "child-fds.json")
    assert result["split"]["forked"] == 1 and result["one"]["forked"] == 0
    # Negative control: with a second thread alive the scan stays in one process.
    assert result["with_thread"]["forked"] == 0
    split, one = result["split"]["files"], result["one"]["files"]
    assert split == one == result["with_thread"]["files"]
    assert list(split) == sorted(split)
    linked = {"link.txt"} | {f"mlink/{k[2:]}" for k in files if k.startswith("m/")}
    assert set(split) == set(files) | linked
    for logical, (_, abs_path, size, mtime_ns, inode) in split.items():
        st = os.stat(abs_path)    # follows the links, as the scan does for them
        assert (size, mtime_ns, inode) == (st.st_size, st.st_mtime_ns, st.st_ino), logical
    # The child closed the parent's lock (a killed parent's rerun must get it at once).
    held = json.loads((tmp_path / "child-fds.json").read_text())
    assert str(static) not in held and any(target.startswith("pipe:") for target in held)


def test_a_file_gone_between_listing_and_stat_is_the_same_clear_error(tmp_path):
    """Whichever half it is in: the child's failure makes the parent stat
    that half itself, so the error names the file as a one-process stat does."""
    static = tmp_path / "static"
    make_site(static)
    from assetpipe.errors import BuildError
    from assetpipe.sources import _list
    runs: list[Run] = []
    _list(str(static), "", os.path.realpath(static), (os.path.realpath(static),), runs)
    first, second = stat_split._halves(runs, sum(len(r.names) for r in runs) // 2)
    for half in (first, second):
        gone = half[-1].folder + half[-1].names[-1]
        os.rename(gone, gone + ".moved")
        try:
            with pytest.raises(BuildError) as one:
                stat_split._stat(runs)
            with pytest.raises(BuildError) as split:
                stat_split._stat_with_child(first, second)
        finally:
            os.rename(gone + ".moved", gone)
        assert str(split.value) == str(one.value) and gone in str(one.value)
    assert stat_split._stat_with_child(first, second) == stat_split._stat(runs)


def test_halves_cut_inside_a_run_and_keep_the_order():
    runs = [Run("/a/", "a/", ["x", "y", "z"], False), Run("/b/", "b/", ["p", "q"], True)]
    first, second = stat_split._halves(runs, 2)
    assert first == [Run("/a/", "a/", ["x", "y"], False)]
    assert second == [Run("/a/", "a/", ["z"], False), Run("/b/", "b/", ["p", "q"], True)]
    assert stat_split._halves(runs, 5) == (runs, [])


KILLED_MID_SCAN = r"""
import os, sys
from assetpipe import stat_split
from assetpipe.cli import main
stat_split.SPLIT_FROM = 1
real_stat, parent = stat_split._stat, os.getpid()
def held(runs):
    if os.getpid() != parent:   # the child says where it is, then waits for the test
        with open(sys.argv[2], "w") as ready:
            ready.write(str(os.getpid()))
        with open(sys.argv[3]) as release:
            release.read()
    return real_stat(runs)
stat_split._stat = held
sys.exit(main(["build", "--config", sys.argv[1], "--quiet"]))
"""


def test_a_build_killed_while_its_child_stats_leaves_the_lock_free(tmp_path):
    """SIGKILL the build (only the build) while its stat child is mid-scan:
    a rerun right away gets the output lock and completes the build."""
    write_tree(tmp_path / "static", {f"js/m{n}.js": f"var m{n} = {n};\n" for n in range(30)})
    cfg = write_config(tmp_path)
    ready, release = tmp_path / "ready", tmp_path / "release"
    os.mkfifo(ready)
    os.mkfifo(release)
    proc = subprocess.Popen([sys.executable, "-c", KILLED_MID_SCAN, str(cfg), str(ready),
                             str(release)], env=dict(os.environ, PYTHONPATH=str(REPO)))
    try:
        child = int(ready.read_text())       # blocks until the child is mid-scan
        child_exit = os.pidfd_open(child)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL
        assert main(["build", "--config", str(cfg), "--quiet"]) == 0
    finally:
        release.write_text("go")             # the orphaned child stats, finds no reader, exits
    assert select.select([child_exit], [], [], 30)[0], "the orphaned stat child did not exit"
    os.close(child_exit)
    assert len(load_manifest(tmp_path / "out")["assets"]) == 30


ON_A_TERMINAL = COUNT_FORKS + r"""
from assetpipe import stat_split
from assetpipe.cli import main
stat_split.SPLIT_FROM = 1
for _ in range(2):   # cold, then a no-op
    before = len(forks)
    status = main(["build", "--config", sys.argv[1]])
    with open(sys.argv[2], "a") as out:
        out.write(f"{status} {len(forks) - before}\n")
"""


def test_on_a_terminal_the_progress_bar_waits_for_work(tmp_path):
    """On a terminal the build shows a rich progress bar, whose refresh
    thread would keep the stat in one process: it starts only when there
    are jobs, so a no-op build (no bar) still stats in two."""
    import pty
    write_tree(tmp_path / "static", {f"js/m{n}.js": f"var m{n} = {n};\n" for n in range(30)})
    cfg = write_config(tmp_path)
    counts = tmp_path / "counts"
    main_end, terminal = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", ON_A_TERMINAL, str(cfg), str(counts)],
                            stdin=terminal, stdout=terminal, stderr=terminal,
                            env=dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="100"))
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(main_end, 65536)
        except OSError:   # EIO: every writer closed its end
            break
        if not chunk:
            break
        shown += chunk
    os.close(main_end)
    assert proc.wait() == 0
    cold, noop = counts.read_text().splitlines()
    assert cold == "0 1" and noop == "0 1"   # both stat'ed in two processes
    text = shown.decode("utf-8", "replace")
    assert "building" in text and "30/30" in text   # the bar was shown for the cold build
    assert "up to date" in text
