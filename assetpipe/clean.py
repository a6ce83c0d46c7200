"""`assetpipe clean`: remove versioned files no recent build refers to.

Old versions are kept for a while on purpose (Sprockets' reasoning): HTML
cached by browsers and proxies, and app servers not yet restarted in a
rolling deploy, still ask for the assets of earlier builds.  A versioned
file (or twin) goes only when

* no manifest among the newest `keep` history entries names it,
* no entry replaced less than `min_age` seconds ago names it (pages
  rendered from that build may still be cached),
* the current manifest.json does not name it, and
* the file itself is older than `min_age` (written by no recent build,
  including one still running without a history entry yet).

History entries that no longer protect anything are removed with the files.
Only `policy.is_versioned` names are ever considered (with the config's
`[versioning] prehashed` globs): unversioned copies are the current build's
and stay.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from assetpipe import history
from assetpipe.errors import BuildError
from assetpipe.manifest import MANIFEST_NAME
from assetpipe.policy import is_versioned
from assetpipe.publish import read_current
from assetpipe.statedir import prepare_state_dir
from assetpipe.writer import OutputLock


@dataclass
class CleanPlan:
    files: list[str] = field(default_factory=list)           # output-relative, posix
    bytes: int = 0
    entries: list[history.Entry] = field(default_factory=list)  # history entries dropped


def plan_clean(output: str, state_dir: str, keep: int, min_age: float,
               now: float | None = None, prehashed: tuple[str, ...] = ()) -> CleanPlan:
    now = time.time() if now is None else now
    entries = history.entries(state_dir)
    kept = set(range(max(len(entries) - keep, 0), len(entries)))
    for i in range(len(entries)):
        replaced_at = entries[i + 1].created if i + 1 < len(entries) else now
        if now - replaced_at < min_age:
            kept.add(i)
    protected = history.manifest_paths(_current_manifest(output))
    for i in kept:
        protected |= entries[i].paths
    plan = CleanPlan(entries=[e for i, e in enumerate(entries) if i not in kept])
    for rel, st in _versioned_files(output, prehashed):
        if rel not in protected and now - st.st_mtime >= min_age:
            plan.files.append(rel)
            plan.bytes += st.st_size
    return plan


def _current_manifest(output: str) -> dict:
    """The live manifest; an unreadable one stops clean, since it cannot
    tell which files are live (a missing one protects nothing: no build yet)."""
    path = os.path.join(output, MANIFEST_NAME)
    if not os.path.exists(path):
        return {}
    doc = read_current(output)
    if not isinstance(doc, dict) or not isinstance(doc.get("assets"), dict):
        raise BuildError("cannot read the current manifest, so nothing is known to be live; "
                         "rebuild before cleaning", path)
    return doc


def clean(output: str, state_dir: str, keep: int, min_age: float,
          dry_run: bool = False, prehashed: tuple[str, ...] = ()) -> CleanPlan:
    """Remove what plan_clean finds (nothing when `dry_run`), under the
    output lock so a build in progress never loses a file it just wrote."""
    if not os.path.isdir(output):
        return CleanPlan()
    with OutputLock(output):
        prepare_state_dir(output, state_dir)   # an old output's history counts
        plan = plan_clean(output, state_dir, keep, min_age, prehashed=prehashed)
        if not dry_run:
            for rel in plan.files:
                os.unlink(os.path.join(output, rel))
            history.remove(state_dir, plan.entries)
    return plan


def _versioned_files(output: str, prehashed: tuple[str, ...]):
    """(output-relative path, stat) of every versioned file; dot-named files
    and folders (temp files, an old release's state) are never looked at."""
    for folder, dirs, files in os.walk(output):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, output).replace(os.sep, "/")
            if name.startswith(".") or not is_versioned(rel, prehashed):
                continue
            yield rel, os.lstat(path)
