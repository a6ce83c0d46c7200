"""Stat a listed site's files, half of them in a forked child on a large site.

Every build stats every source, the no-op included, and at 100,000 files
that is most of a no-op's time: ~0.2 s of it in the kernel, one file at a
time.  Threads do not help (the GIL is taken back after each short call);
a second process does: the child inherits the listing (nothing to send
it), stats the second half while the parent stats the first, and sends
back only numbers.  Measured at 100,000 files on 2 cores (median of 15):
stat 0.265 s in one process, 0.156 s in two, the fork and the transfer
included; they cost a few ms, so a small site is stat'ed in one process.

The fork happens only from a clean process: no other Python thread, and no
native engine loaded whose threads could hold a lock the child needs
(assetpipe/runner.py says why the job pool does not fork).  The child runs
nothing but stat calls and exits with os._exit, so no handler, buffer or
lock of the parent runs twice.  If it fails in any way, the parent stats
its half itself, so an error is the same error a one-process stat raises.
"""
from __future__ import annotations

import marshal
import os
import sys
import threading
from typing import TYPE_CHECKING

from assetpipe.errors import BuildError

if TYPE_CHECKING:
    from assetpipe.sources import Run

# Below this many files, one process (the fork costs more than it saves).
SPLIT_FROM = 10_000
# Native engines whose own threads make a fork unsafe once loaded.
_NATIVE_THREADED = ("oxipng",)


def stat_runs(runs: list[Run]) -> list[int]:
    """(size, mtime_ns, inode) of every listed file, flat, in listing order."""
    total = sum(len(run.names) for run in runs)
    if total < SPLIT_FROM or not _may_fork():
        return _stat(runs)
    first, second = _halves(runs, total // 2)
    return _stat_with_child(first, second)


def _may_fork() -> bool:
    """Linux-like systems (sched_getaffinity: not macOS, where a fork without
    exec is unsafe), more than one core to run on, and a clean process."""
    return (hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) > 1
            and threading.active_count() == 1
            and not any(name in sys.modules for name in _NATIVE_THREADED))


def _halves(runs: list[Run], at: int) -> tuple[list[Run], list[Run]]:
    """`runs` cut after `at` files (inside a run if need be)."""
    seen = 0
    for index, run in enumerate(runs):
        if seen + len(run.names) > at:
            cut = at - seen
            return ([*runs[:index], run._replace(names=run.names[:cut])],
                    [run._replace(names=run.names[cut:]), *runs[index + 1:]])
        seen += len(run.names)
    return runs, []


def _stat_with_child(first: list[Run], second: list[Run]) -> list[int]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child: never returns
        os.close(read_end)
        _child(second, write_end)
    os.close(write_end)
    try:
        mine = _stat(first)
    finally:
        with os.fdopen(read_end, "rb") as pipe:   # to the child's end: all, or nothing
            sent = pipe.read()
        _, status = os.waitpid(pid, 0)
    theirs = marshal.loads(sent) if status == 0 and sent else _stat(second)
    return mine + theirs


def _child(runs: list[Run], write_end: int) -> None:
    """Closes what it inherited first: a copy of the output folder's lock
    (an flock) held here would outlive a parent killed mid-scan, and turn
    the rerun away as "another build is running"."""
    status = 1
    try:
        os.closerange(3, write_end)
        os.closerange(write_end + 1, os.sysconf("SC_OPEN_MAX"))
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(marshal.dumps(_stat(runs)))
        status = 0
    finally:
        os._exit(status)   # no handler, buffer or atexit of the parent runs here


def _stat(runs: list[Run]) -> list[int]:
    numbers: list[int] = []
    add = numbers.extend
    for folder, _, names, follow in runs:
        try:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            raise BuildError(f"cannot read folder: {exc.strerror}", folder) from None
        name = ""
        try:
            for name in names:
                st = os.stat(name, dir_fd=fd, follow_symlinks=follow)
                add((st.st_size, st.st_mtime_ns, st.st_ino))
        except OSError as exc:
            raise BuildError(f"{exc.strerror} (changed while the build listed the folder? "
                             "run the build again)", folder + name) from None
        finally:
            os.close(fd)
    return numbers
