"""Fetched packs kept whole in the local cache, instead of one file per entry.

A warm remote brings ~10,000 entries into a fresh runner; writing each as a
file of its own (temp file, rename, folder) cost more than fetching them.  So
a fetched pack is written once, as it came, under `<cache>/packs/`, beside a
small index of the entries in it that passed the fetch's check:

    <cache>/packs/<pack name>.pack     the remote pack's bytes
    <cache>/packs/<pack name>.index    JSON {"entries": {key: [offset, length]}}

The index goes down after its pack, so a listed index always has its pack.
A lookup (cache.Results.lookup) falls back to these when a key has no entry
file, and verifies what it reads exactly as it verifies an entry file: the
local copy of a pack is trusted no more than the remote one.
"""
from __future__ import annotations

import json
import os

from assetpipe.writer import write_atomic

# Per process: folder -> (the packs folder's mtime, key -> (pack path, offset, length)).
# A new index changes the folder's mtime, so a long-lived process (--watch, a
# pool worker) reloads when a fetch added packs and otherwise reads no index.
_loaded: dict[str, tuple[int, dict[str, tuple[str, int, int]]]] = {}
# Pack path -> a descriptor kept open for the process's life: a warm build
# reads ~15,000 slices of a handful of packs (packs are never rewritten in
# place: a new copy is a new file, renamed over, which this descriptor
# does not see, but it holds the same bytes -- the name is their hash).
_open: dict[str, int] = {}


def packs_folder(folder: str) -> str:
    return os.path.join(folder, "packs")


def save(folder: str, name: str, data: bytes, entries: dict[str, tuple[int, int]]) -> None:
    """Keep a fetched pack (`name` without its suffix) and the entries of it
    that may be used."""
    base = os.path.join(packs_folder(folder), name)
    write_atomic(base + ".pack", data)
    write_atomic(base + ".index", json.dumps({"entries": entries}, separators=(",", ":"),
                                             sort_keys=True).encode())
    _loaded.pop(folder, None)   # the folder's mtime may not have ticked yet


def index(folder: str) -> dict[str, tuple[str, int, int]]:
    """Every key held in a local pack: (pack path, offset, length)."""
    where = packs_folder(folder)
    try:
        stamp = os.stat(where).st_mtime_ns
    except FileNotFoundError:
        return {}
    cached = _loaded.get(folder)
    if cached is None or cached[0] != stamp:
        cached = (stamp, _read_indexes(where))
        _loaded[folder] = cached
    return cached[1]


def _read_indexes(where: str) -> dict[str, tuple[str, int, int]]:
    found: dict[str, tuple[str, int, int]] = {}
    for name in sorted(os.listdir(where)):
        if not name.endswith(".index"):
            continue
        try:
            with open(os.path.join(where, name), "rb") as f:
                entries = json.load(f)["entries"]
            pack = os.path.join(where, name.removesuffix(".index") + ".pack")
            for key, (offset, length) in entries.items():
                found[key] = (pack, int(offset), int(length))
        except (OSError, ValueError, KeyError, TypeError):
            continue   # a damaged index: its entries are misses, computed again
    return found


def read(folder: str, key: str) -> bytes | None:
    """The blob a local pack holds for `key` (unverified), else None."""
    spot = index(folder).get(key)
    if spot is None:
        return None
    path, offset, length = spot
    try:
        if path not in _open:
            _open[path] = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        return os.pread(_open[path], length, offset)
    except OSError:
        return None
