"""Publishing files: atomic, immutable where versioned, locked per output.

Every write goes to a dot-named temp file in the destination folder and is
renamed into place, so readers (Apache, sync, the app) never see a partial
file and a killed build leaves only dot-named litter that the next build
removes.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets

from assetpipe.errors import BuildError
from assetpipe.policy import TEMP_PREFIX


def _temp_path(path: str) -> str:
    folder, name = os.path.split(path)
    return os.path.join(folder, f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}-{name}")


class VersionConflict(BuildError):
    """A versioned name already holds other bytes."""


def write_atomic(path: str, content: bytes | list) -> None:
    """Replace `path` with `content` (bytes, or a list of bytes-like parts)
    via temp file + rename.  Errors name `path` (a full disk or a folder in
    the way must not name the temp file)."""
    tmp = _temp_path(path)
    try:
        with _create(tmp) as f:
            f.writelines(content if isinstance(content, list) else [content])
        os.replace(tmp, path)
    except OSError as exc:
        remove_file(tmp)
        what = "is a folder" if os.path.isdir(path) else f"cannot write: {exc.strerror or exc}"
        raise BuildError(what, path) from None
    except BaseException:
        remove_file(tmp)
        raise


def _create(tmp: str):
    """open(tmp, "wb"), making its folder only when missing: a build writes
    some 20,000 files into a few hundred folders, and asking first for each
    cost three system calls more per file."""
    try:
        return open(tmp, "wb")
    except FileNotFoundError:
        os.makedirs(os.path.dirname(tmp), exist_ok=True)
        return open(tmp, "wb")


def write_immutable(path: str, content: bytes) -> bool:
    """Write a versioned file unless it is there already; False if it was.

    A versioned name always denotes the same bytes, but an existing file is
    checked by content, not size: with the "mtime" strategy a same-length
    edit keeps its name, and trusting the old bytes would publish them
    under the new integrity.  Other bytes raise VersionConflict: what is
    there may already be published, so it is never overwritten.
    """
    try:
        with open(path, "rb") as f:
            same = f.read(len(content) + 1) == content
    except FileNotFoundError:
        write_atomic(path, content)
        return True
    if not same:
        raise VersionConflict("refusing to overwrite versioned file with different content; "
                              "remove it if it is stale", path)
    return False


def link_or_copy(src: str, dst: str) -> None:
    """Make `dst` an (atomically replaced) copy of `src`: a hard link when possible."""
    try:
        if os.path.samefile(src, dst):
            return
    except OSError:
        pass
    tmp = _temp_path(dst)
    try:
        try:
            os.link(src, tmp)
        except FileNotFoundError:   # dst's folder is new (or src is gone: then it fails again)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            os.link(src, tmp)
    except OSError:
        with open(src, "rb") as f:
            write_atomic(dst, f.read())
        return
    try:
        os.replace(tmp, dst)
    except BaseException:
        remove_file(tmp)
        raise


def remove_temp_files(top: str, only_dead: bool = False) -> int:
    """Delete temp files a killed build left under `top`; returns how many.
    `only_dead` spares those of a process still running (see temp_owner_alive)."""
    removed = 0
    for folder, _dirs, files in os.walk(top):
        for name in files:
            if name.startswith(TEMP_PREFIX) and not (only_dead and temp_owner_alive(name)):
                remove_file(os.path.join(folder, name))
                removed += 1
    return removed


def temp_owner_alive(name: str) -> bool:
    """True while the process that made temp file `name` (its pid is in the
    name) may still rename it into place: a pool worker orphaned by a killed
    build, or another sync into the same folder."""
    try:
        pid = int(name[len(TEMP_PREFIX):].split("-", 1)[0])
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (ValueError, PermissionError):
        return True  # not ours to judge: leave it
    return True


class OutputLock:
    """An flock on the output folder itself: the OS drops it when the process
    dies, it serialises every build of one output whatever config (and so
    state folder) names it, and it leaves no file in the served tree."""

    def __init__(self, output: str):
        self.path = output
        self._fd: int | None = None

    def __enter__(self) -> OutputLock:
        os.makedirs(self.path, exist_ok=True)
        fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise BuildError("another assetpipe build is running on this output folder; "
                                 "wait for it to finish", self.path) from None
            raise
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def remove_file(path: str) -> None:
    """Delete a file if it is there."""
    with contextlib.suppress(OSError):
        os.unlink(path)
