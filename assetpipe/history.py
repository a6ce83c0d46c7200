"""Manifest history in <state folder>/history/: what `clean` keeps.

Each build whose assets differ from the newest entry's adds one entry (a
build that changed nothing else but the commit adds none; `build --ref`
builds count like any other): `s<sequence>-<UTC time>-<assets hash>.json`,
holding the manifest.  Entries are ordered by the sequence number (one more
than the highest present), never by the time: a clock that jumps, or a
machine whose clock runs ahead, must not reorder builds for `clean` or
`sync --prune`.  Entries named before numbering (`<UTC time>-<hash>.json`)
still read, ordered by time, before every numbered one.  The same naming
serves the synced manifests of a destination (`sync_plan`).

An entry holds either the whole manifest, or — when the build knows exactly
what changed since the newest entry — a delta: `{"base": <previous entry's
name>, "assets": {changed or added entries}, "removed": [logical paths]}`,
so one edit on a 100,000-file site writes a few hundred bytes, not the
whole manifest again.  Reading replays the deltas in order; before `clean`
removes the entry a delta is based on, that delta is rewritten whole.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import posixpath
import time
from dataclasses import dataclass

from assetpipe.errors import BuildError
from assetpipe.manifest import MANIFEST_VERSION, manifest_problem
from assetpipe.policy import twin_suffix
from assetpipe.writer import write_atomic

HISTORY_DIR = "history"   # inside Config.state_dir
STAMP_FORMAT = "%Y%m%dT%H%M%S.%fZ"


@dataclass(frozen=True)
class Entry:
    name: str
    created: float          # epoch seconds, from the name
    paths: frozenset[str]   # every output path its manifest names


def assets_hash(*section) -> str:
    """Identifies a set of assets by the manifest's assets section (see
    publish), given whole or in parts."""
    h = hashlib.sha256()
    for part in section:
        h.update(part)
    return h.hexdigest()[:16]


def record(state_dir: str, digest: str, manifest: bytes | list,
           delta: tuple[str, dict, list] | None = None, now: float | None = None) -> str:
    """Add an entry unless the newest one has the same assets; returns the newest
    entry's name.  `delta` = (base entry name, changed entries, removed names):
    written as a delta when `base` is the newest entry, else the whole manifest."""
    names = _names(state_dir)
    if names and names[-1].endswith(f"-{digest}.json"):
        return names[-1]
    name = next_entry_name(names, digest, now)
    if delta is not None and names and names[-1] == delta[0]:
        doc = {"base": delta[0], "assets": delta[1], "removed": sorted(delta[2])}
        manifest = json.dumps(doc, sort_keys=True, ensure_ascii=False).encode("utf-8")
    write_atomic(os.path.join(state_dir, HISTORY_DIR, name), manifest)
    return name


def order_key(name: str) -> tuple[int, str]:
    """Sort key of an entry name (or key ending in one): its sequence number;
    pre-numbering entries (-1) keep their time order, ahead of numbered ones."""
    base = posixpath.basename(name)
    head = base.split("-", 1)[0]
    if head[:1] == "s" and head[1:].isdigit():
        return int(head[1:]), ""
    return -1, base


def next_entry_name(names: list[str], digest: str, now: float | None = None) -> str:
    """`s<n+1>-<UTC time>-<digest>.json`, n the highest sequence among `names`."""
    seq = max([0, *(order_key(n)[0] for n in names)]) + 1
    when = datetime.datetime.fromtimestamp(time.time() if now is None else now,
                                           datetime.UTC)
    return f"s{seq:09d}-{when.strftime(STAMP_FORMAT)}-{digest}.json"


def entry_time(name: str) -> float:
    """Epoch seconds from an entry name's UTC time (informational: for
    `clean --min-age`, never for ordering).  ValueError if malformed."""
    parts = posixpath.basename(name).split("-")
    stamp = parts[1] if order_key(name)[0] >= 0 else parts[0]
    parsed = datetime.datetime.strptime(stamp, STAMP_FORMAT)
    return parsed.replace(tzinfo=datetime.UTC).timestamp()


def entries(state_dir: str) -> list[Entry]:
    """All entries, oldest first.  An unreadable one is an error: skipping it
    would let `clean` delete files it still protects."""
    return [Entry(name, created, frozenset(manifest_paths({"assets": assets})))
            for name, created, assets, _ in _replay(state_dir)]


def _replay(state_dir: str):
    """(name, created, full assets, is a delta) per entry, oldest first."""
    assets: dict = {}
    previous = None
    for name in _names(state_dir):
        path = os.path.join(state_dir, HISTORY_DIR, name)
        try:
            with open(path, "rb") as f:
                doc = json.loads(f.read())
            created = entry_time(name)
        except (OSError, ValueError, IndexError) as exc:
            raise BuildError(f"unreadable history entry ({exc}); remove it if it is stale",
                             path) from None
        problem = _entry_problem(doc, previous)
        if problem:
            raise BuildError(f"history entry is not an assetpipe manifest ({problem}); "
                             "remove it if it is stale", path)
        if "base" in doc:
            removed = set(doc["removed"])
            assets = {k: v for k, v in assets.items() if k not in removed}
            assets.update(doc["assets"])
        else:
            assets = doc["assets"]
        yield name, created, assets, "base" in doc
        previous = name


def _entry_problem(doc: object, previous: str | None) -> str | None:
    """What is wrong with a whole entry (a manifest) or a delta, or None."""
    if not (isinstance(doc, dict) and "base" in doc):
        return manifest_problem(doc)
    if doc["base"] != previous:
        return f"a delta of {doc['base']}, which is not the entry before it"
    if not isinstance(doc.get("removed"), list):
        return "a delta without a 'removed' list"
    return manifest_problem({"manifest_version": MANIFEST_VERSION, "assets": doc.get("assets")})


def remove(state_dir: str, doomed: list[Entry]) -> None:
    """Remove entries; a kept delta whose base goes is first rewritten whole
    (so a kill between the two steps leaves a readable history)."""
    gone = {entry.name for entry in doomed}
    previous = None
    for name, _, assets, is_delta in _replay(state_dir):
        if is_delta and previous in gone and name not in gone:
            whole = {"manifest_version": MANIFEST_VERSION, "assets": assets}
            write_atomic(os.path.join(state_dir, HISTORY_DIR, name),
                         json.dumps(whole, sort_keys=True, ensure_ascii=False).encode("utf-8"))
        previous = name
    for name in gone:
        os.unlink(os.path.join(state_dir, HISTORY_DIR, name))


def manifest_paths(doc: dict, plain: bool = True) -> set[str]:
    """Every file a manifest names: versioned paths and twins, and (`plain`)
    the plain logical names with their twins (a source may itself be named
    like `x.v12345678.js`, and its plain copy must not look like litter)."""
    paths = set()
    for logical, entry in doc.get("assets", {}).items():
        versioned = entry["path"]
        paths.add(versioned)
        paths.update(entry.get("encodings", {}).values())
        if entry.get("sourcemap"):  # its map ([sourcemaps]) lives as long as it does
            paths.add(entry["sourcemap"])
        if plain:
            paths.add(logical)
            paths.update(logical + twin_suffix(versioned, twin)
                         for twin in entry.get("encodings", {}).values())
    return paths


def _names(state_dir: str) -> list[str]:
    try:
        names = os.listdir(os.path.join(state_dir, HISTORY_DIR))
    except FileNotFoundError:
        return []
    return sorted((n for n in names if n.endswith(".json") and not n.startswith(".")),
                  key=order_key)
