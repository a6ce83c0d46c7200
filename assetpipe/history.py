"""Manifest history in <state folder>/history/: what `clean` keeps.

Each build whose assets differ from the newest entry's adds one entry (a
build that changed nothing else but the commit adds none; `build --ref`
builds count like any other): `<UTC time>-<assets hash>.json`, holding the
manifest.  Names sort by time, so the newest N entries are the last N names.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import time
from dataclasses import dataclass

from assetpipe.errors import BuildError
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
    when = datetime.datetime.fromtimestamp(time.time() if now is None else now,
                                           datetime.timezone.utc)
    name = f"{when.strftime(STAMP_FORMAT)}-{digest}.json"
    write_atomic(os.path.join(state_dir, HISTORY_DIR, name), manifest)
    return True


def entries(state_dir: str) -> list[Entry]:
    """All entries, oldest first.  An unreadable one is an error: skipping it
    would let `clean` delete files it still protects."""
    found = []
    for name in _names(state_dir):
        path = os.path.join(state_dir, HISTORY_DIR, name)
        try:
            with open(path, "rb") as f:
                doc = json.loads(f.read())
            stamp = datetime.datetime.strptime(name.split("-", 1)[0], STAMP_FORMAT)
        except (OSError, ValueError) as exc:
            raise BuildError(f"unreadable history entry ({exc}); remove it if it is stale",
                             path) from None
        created = stamp.replace(tzinfo=datetime.timezone.utc).timestamp()
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
    return sorted(n for n in names if n.endswith(".json") and not n.startswith("."))
