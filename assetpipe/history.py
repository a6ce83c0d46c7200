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
from assetpipe.manifest import manifest_problem
from assetpipe.policy import twin_suffix
from assetpipe.writer import write_atomic

HISTORY_DIR = "history"   # inside Config.state_dir
STAMP_FORMAT = "%Y%m%dT%H%M%S.%fZ"


@dataclass(frozen=True)
class Entry:
    name: str
    created: float          # epoch seconds, from the name
    paths: frozenset[str]   # every output path its manifest names


def assets_hash(assets: dict) -> str:
    return hashlib.sha256(json.dumps(assets, sort_keys=True).encode()).hexdigest()[:16]


def record(state_dir: str, assets: dict, manifest: bytes, now: float | None = None) -> bool:
    """Add an entry unless the newest one has the same assets; True if added."""
    digest = assets_hash(assets)
    names = _names(state_dir)
    if names and names[-1].endswith(f"-{digest}.json"):
        return False
    write_atomic(os.path.join(state_dir, HISTORY_DIR, next_entry_name(names, digest, now)),
                 manifest)
    return True


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
    found = []
    for name in _names(state_dir):
        path = os.path.join(state_dir, HISTORY_DIR, name)
        try:
            with open(path, "rb") as f:
                doc = json.loads(f.read())
            created = entry_time(name)
        except (OSError, ValueError, IndexError) as exc:
            raise BuildError(f"unreadable history entry ({exc}); remove it if it is stale",
                             path) from None
        problem = manifest_problem(doc)
        if problem:
            raise BuildError(f"history entry is not an assetpipe manifest ({problem}); "
                             "remove it if it is stale", path)
        found.append(Entry(name, created, frozenset(manifest_paths(doc))))
    return found


def remove(state_dir: str, entry: Entry) -> None:
    os.unlink(os.path.join(state_dir, HISTORY_DIR, entry.name))


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
