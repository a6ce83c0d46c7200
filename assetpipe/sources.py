"""Find the inputs: every file under `source`, and each bundle's members.

Dotfiles and dot-folders are skipped (they are VCS data, editor files, our own
caches).  Symlinks are followed only when they point inside `source`, and a
link back to a folder being walked is reported as a loop instead of recursing.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache

from assetpipe.config import Bundle
from assetpipe.errors import BuildError
from assetpipe.policy import glob_regex


@dataclass(frozen=True)
class SourceFile:
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
    _walk(source, "", real_root, (real_root,), found)
    return dict(sorted(found.items()))


def _walk(folder: str, prefix: str, real_root: str, stack: tuple[str, ...],
          found: dict[str, SourceFile]) -> None:
    try:
        entries = list(os.scandir(folder))
    except OSError as exc:
        raise BuildError(f"cannot read folder: {exc.strerror}", folder) from None
    for entry in entries:
        if entry.name.startswith("."):
            continue
        _check_name(entry.path)
        logical = prefix + entry.name
        if entry.is_symlink():
            target = os.path.realpath(entry.path)
            if target != real_root and not target.startswith(real_root + os.sep):
                continue  # outside source: never read or published
            if entry.is_dir():
                if target in stack:
                    raise BuildError(f"symlink loop: points back to {target}", entry.path)
                _walk(entry.path, logical + "/", real_root, stack + (target,), found)
                continue
        elif entry.is_dir(follow_symlinks=False):
            _walk(entry.path, logical + "/", real_root, stack + (entry.path,), found)
            continue
        try:
            st = entry.stat()
        except OSError:
            continue  # dangling symlink
        if not entry.is_file():
            continue  # sockets, fifos
        found[logical] = SourceFile(logical, entry.path, st.st_size, st.st_mtime_ns, st.st_ino)


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
