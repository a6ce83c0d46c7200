"""Find the inputs: every file under `source`, and each bundle's members.

Dotfiles and dot-folders are skipped (they are VCS data, editor files, our own
caches).  Symlinks are followed only when they point inside `source`, and a
link back to a folder being walked is reported as a loop instead of recursing.
"""
from __future__ import annotations

import gc
import os
import re
from functools import lru_cache
from operator import attrgetter
from stat import S_ISREG
from typing import NamedTuple

from assetpipe.config import Bundle
from assetpipe.errors import BuildError
from assetpipe.policy import glob_regex


class SourceFile(NamedTuple):
    # A NamedTuple, not a frozen dataclass: a 100,000-file walk makes one per
    # file on every build, the no-op included, and this is 2-3x cheaper to create.
    logical_path: str   # posix, relative to the source folder
    abs_path: str
    size: int
    mtime_ns: int
    inode: int


def scan_sources(source: str) -> dict[str, SourceFile]:
    """Walk `source`; returns logical path -> SourceFile, sorted by path."""
    if not os.path.isdir(source):
        raise BuildError("source folder does not exist", source)
    real_root = os.path.realpath(source)
    found: dict[str, SourceFile] = {}
    # The walk makes 100,000 tuples at 100,000 files and no reference cycle:
    # the collector's passes over them during the walk, and its full passes
    # over them during the rest of the build, cost ~0.1 s for nothing.  So
    # the walk runs without it, and what it made is frozen out of its view
    # (freed by reference counting as usual); the next scan (build --watch)
    # puts the last one's back in view first.
    gc.unfreeze()
    collecting = gc.isenabled()
    gc.disable()
    try:
        _walk(source, "", real_root, (real_root,), found)
    finally:
        gc.freeze()
        if collecting:
            gc.enable()
    return found


def _walk(folder: str, prefix: str, real_root: str, stack: tuple[str, ...],
          found: dict[str, SourceFile]) -> None:
    """Adds the files under `folder` to `found` in sorted path order.

    The folder is listed through a descriptor of its own, so each file's
    stat is an fstatat of its bare name instead of a lookup of its whole
    path again (0.27 s instead of 0.33 s for 100,000 files here)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise BuildError(f"cannot read folder: {exc.strerror}", folder) from None
    try:
        _walk_open(fd, folder, prefix, real_root, stack, found)
    finally:
        os.close(fd)


def _walk_open(fd: int, folder: str, prefix: str, real_root: str, stack: tuple[str, ...],
               found: dict[str, SourceFile]) -> None:
    """Each folder's entries are visited sorted by name, a folder's as
    "name/" -- exactly the order of the full paths, so no sort of the whole
    site.  This runs once per file on every build, the no-op included: a
    regular file costs one d_type test (no syscall) and one stat, nothing else."""
    try:
        with os.scandir(fd) as listing:
            entries = [e for e in listing if not e.name.startswith(".")]
    except OSError as exc:
        raise BuildError(f"cannot read folder: {exc.strerror}", folder) from None
    base = folder if folder.endswith(os.sep) else folder + os.sep
    _check_names(base, entries)
    entries.sort(key=_BY_NAME)
    if any(map(_IS_DIR, entries)):  # most folders hold files only
        entries.sort(key=_order)
    for entry in entries:
        name = entry.name
        if entry.is_file(follow_symlinks=False):
            st = entry.stat(follow_symlinks=False)
            logical = prefix + name
            found[logical] = _new(SourceFile, (logical, base + name, st.st_size,
                                               st.st_mtime_ns, st.st_ino))
        elif entry.is_dir(follow_symlinks=False):
            _walk(base + name, prefix + name + "/", real_root, stack + (base + name,), found)
        elif entry.is_symlink():
            _follow(entry, base + name, prefix + name, real_root, stack, found)


# SourceFile(...) goes through a Python-level __new__; this is the same tuple.
_new = tuple.__new__


_BY_NAME = attrgetter("name")
_IS_DIR = os.DirEntry.is_dir


def _order(entry: os.DirEntry) -> str:
    """A folder sorts as "name/" ("a-b" < "a/" < "a0"), as its files' paths do."""
    return entry.name + "/" if entry.is_dir() else entry.name


def _follow(entry: os.DirEntry, path: str, logical: str, real_root: str,
            stack: tuple[str, ...], found: dict[str, SourceFile]) -> None:
    """A symlink: followed only when it points inside the source folder
    (`entry` is still open in its folder's listing; `path` is its full path)."""
    target = os.path.realpath(path)
    if target != real_root and not target.startswith(real_root + os.sep):
        return  # outside source: never read or published
    if entry.is_dir():
        if target in stack:
            raise BuildError(f"symlink loop: points back to {target}", path)
        _walk(path, logical + "/", real_root, stack + (target,), found)
        return
    try:
        st = entry.stat()
    except OSError:
        return  # dangling symlink
    if S_ISREG(st.st_mode):  # not sockets, fifos
        found[logical] = SourceFile(logical, path, st.st_size, st.st_mtime_ns, st.st_ino)


def _check_names(base: str, entries: list[os.DirEntry]) -> None:
    """One encode per folder; the name-by-name check only when it fails."""
    try:
        "".join(e.name for e in entries).encode("utf-8")
    except UnicodeEncodeError:
        for entry in entries:
            _check_name(base + entry.name)


def _check_name(path: str) -> None:
    """A name that is not UTF-8 cannot be a URL path, a manifest key or an S3 key."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        shown = path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        raise BuildError("file name is not valid UTF-8; rename the file", shown) from None


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern:
    """Glob -> compiled regex (the syntax is policy.glob_regex)."""
    return re.compile(glob_regex(pattern) + r"\Z")


def is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def expand_bundle(bundle: Bundle, sources: dict[str, SourceFile]) -> list[str]:
    """Members in declared order; globs expand sorted; a file listed twice counts once."""
    members: list[str] = []
    for pattern in bundle.files:
        clean = pattern.strip().removeprefix("./")
        if is_glob(clean):
            regex = _glob_regex(clean)
            matched = [p for p in sources if regex.match(p)]
            if not matched:
                raise BuildError(f"bundle {bundle.name!r}: pattern {pattern!r} matches no file "
                                 "under the source folder")
        elif clean in sources:
            matched = [clean]
        else:
            raise BuildError(f"bundle {bundle.name!r}: file {pattern!r} does not exist "
                             "under the source folder")
        members.extend(m for m in matched if m not in members)
    return members
