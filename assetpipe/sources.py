"""Find the inputs: every file under `source`, and each bundle's members.

Dotfiles and dot-folders are skipped (they are VCS data, editor files, our own
caches).  Symlinks are followed only when they point inside `source`, and a
link back to a folder being walked is reported as a loop instead of recursing.
"""
from __future__ import annotations

import gc
import os
import re
from array import array
from dataclasses import dataclass
from functools import cached_property, lru_cache
from operator import attrgetter
from stat import S_ISREG
from typing import NamedTuple

from assetpipe.config import Bundle
from assetpipe.errors import BuildError
from assetpipe.policy import glob_regex
from assetpipe.stat_split import stat_runs


class SourceFile(NamedTuple):
    # A NamedTuple, not a frozen dataclass: a 100,000-file walk makes one per
    # file on every build, the no-op included, and this is 2-3x cheaper to create.
    logical_path: str   # posix, relative to the source folder
    abs_path: str
    size: int
    mtime_ns: int
    inode: int


class Run(NamedTuple):
    """Files listed together in one folder, in path order: the stat stage
    opens the folder once and stats each by its bare name."""
    folder: str         # the folder's path, ending in os.sep
    prefix: str         # its logical path, "" or ending in "/"
    names: list[str]
    follow: bool        # symlinks to files: stat what they point to


@dataclass(frozen=True)
class Scan:
    """Every file under the source folder, sorted by logical path: the runs
    it was listed in and each file's (size, mtime_ns, inode), flat.  The
    no-op build hashes these as they are; `files()` makes the per-file
    records only when there is work to do."""
    runs: list[Run]
    numbers: list[int]

    @property
    def count(self) -> int:
        return len(self.numbers) // 3

    @cached_property
    def packed_numbers(self) -> bytes | None:
        """The numbers as machine integers (hashed by the fingerprint and by
        the run digests); None when one does not fit in 64 bits (an inode
        beyond 2**63, a date before 1678): they are hashed as text then."""
        try:
            return array("q", self.numbers).tobytes()
        except OverflowError:
            return None

    def files(self) -> dict[str, SourceFile]:
        """Logical path -> SourceFile, sorted by path."""
        # 100,000 tuples and no reference cycle: the collector's passes over
        # them here, and its full passes over them during the rest of the
        # build, cost ~0.1 s for nothing.  So they are made without it and
        # frozen out of its view (freed by reference counting as usual); the
        # next call (build --watch) puts the last one's back in view first.
        gc.unfreeze()
        collecting = gc.isenabled()
        gc.disable()
        try:
            logical = [run.prefix + name for run in self.runs for name in run.names]
            paths = [run.folder + name for run in self.runs for name in run.names]
            stats = iter(self.numbers)
            rows = zip(logical, paths, stats, stats, stats, strict=True)
            return {row[0]: _new(SourceFile, row) for row in rows}
        finally:
            gc.freeze()
            if collecting:
                gc.enable()


def scan(source: str) -> Scan:
    """List every file under `source` (one process), then stat them (two
    when the site is large: see assetpipe/stat_split.py)."""
    if not os.path.isdir(source):
        raise BuildError("source folder does not exist", source)
    real_root = os.path.realpath(source)
    runs: list[Run] = []
    _list(source, "", real_root, (real_root,), runs)
    return Scan(runs, stat_runs(runs))


def _list(folder: str, prefix: str, real_root: str, stack: tuple[str, ...],
          runs: list[Run]) -> None:
    """Adds the files under `folder` to `runs` in sorted path order."""
    try:
        with os.scandir(folder) as listing:
            entries = [e for e in listing if not e.name.startswith(".")]
    except OSError as exc:
        raise BuildError(f"cannot read folder: {exc.strerror}", folder) from None
    _list_entries(entries, folder if folder.endswith(os.sep) else folder + os.sep, prefix,
                  real_root, stack, runs)


def _list_entries(entries: list[os.DirEntry], base: str, prefix: str, real_root: str,
                  stack: tuple[str, ...], runs: list[Run]) -> None:
    """Each folder's entries are visited sorted by name, a folder's as
    "name/" -- exactly the order of the full paths, so no sort of the whole
    site.  This runs once per file on every build, the no-op included: a
    regular file costs one d_type test (no syscall) and one append."""
    _check_names(base, entries)
    entries.sort(key=_BY_NAME)
    if any(map(_IS_DIR, entries)):  # most folders hold files only
        entries.sort(key=_order)
    names: list[str] = []
    for entry in entries:
        name = entry.name
        if entry.is_file(follow_symlinks=False):
            names.append(name)
            continue
        if names:   # a run ends where a folder or link comes between its files
            runs.append(Run(base, prefix, names, False))
            names = []
        if entry.is_dir(follow_symlinks=False):
            _list(base + name, prefix + name + "/", real_root, stack + (base + name,), runs)
        elif entry.is_symlink():
            _follow(entry, base, prefix, real_root, stack, runs)
    if names:
        runs.append(Run(base, prefix, names, False))


# SourceFile(...) goes through a Python-level __new__; this is the same tuple.
_new = tuple.__new__


_BY_NAME = attrgetter("name")
_IS_DIR = os.DirEntry.is_dir


def _order(entry: os.DirEntry) -> str:
    """A folder sorts as "name/" ("a-b" < "a/" < "a0"), as its files' paths do."""
    return entry.name + "/" if entry.is_dir() else entry.name


def _follow(entry: os.DirEntry, base: str, prefix: str, real_root: str,
            stack: tuple[str, ...], runs: list[Run]) -> None:
    """A symlink in folder `base`: followed only when it points inside the
    source folder."""
    path = base + entry.name
    target = os.path.realpath(path)
    if target != real_root and not target.startswith(real_root + os.sep):
        return  # outside source: never read or published
    if entry.is_dir():
        if target in stack:
            raise BuildError(f"symlink loop: points back to {target}", path)
        _list(path, prefix + entry.name + "/", real_root, stack + (target,), runs)
        return
    try:
        st = entry.stat()
    except OSError:
        return  # dangling symlink
    if S_ISREG(st.st_mode):  # not sockets, fifos
        runs.append(Run(base, prefix, [entry.name], True))


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
