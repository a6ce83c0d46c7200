"""The build cache in the state folder (Config.state_dir): what the last build saw and made.

`state.db` (assetpipe/store.py) holds, per file, the stat of its inputs,
its Built record and manifest fragment, so an unchanged file costs one stat
and a changed one touches only its own rows.  `fingerprint` holds one hash
of every input's stat plus the settings: when it matches, the build is a
no-op and reads nothing else.  `building` marks a build in progress; finding
it at start means the last build was killed and temp files need sweeping.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assetpipe.sources import Scan

STORE_NAME = "state.db"
# The JSON state file of earlier releases: removed when a store is created.
LEGACY_STATE = "state.json"


def open_store(state_dir: str):
    """The state database (created empty when missing, rebuilt when corrupt)."""
    from assetpipe.store import open_store as open_db
    path = os.path.join(state_dir, STORE_NAME)
    if not os.path.exists(path):
        remove_marker(state_dir, LEGACY_STATE)
    return open_db(path)


def inputs_hash(config_repr: str, scan: Scan):
    """The hash of the config and every source's path, size, mtime and inode,
    before the manifest's stat is added.  Names are hashed run by run,
    NUL-separated (a name cannot hold one, so the empty field after a run's
    names ends it), and the numbers as one array of machine integers:
    putting 100,000 paths together, or formatting 300,000 numbers as text,
    cost more than hashing (this runs on every build, the no-op included)."""
    h = hashlib.sha256(config_repr.encode())
    for run in scan.runs:   # its folder's logical path, its names: no path is put together
        h.update(("\0".join((run.prefix, *run.names)) + "\0\0").encode("utf-8", "surrogateescape"))
    packed = scan.packed_numbers
    h.update(repr(scan.numbers).encode() if packed is None else packed)
    return h


def fingerprint(inputs, manifest_stat: tuple | None) -> str:
    h = inputs.copy()
    h.update(repr(manifest_stat).encode())
    return h.hexdigest()


def write_fingerprint(output: str, state_dir: str, value: str, keep_unversioned: bool,
                      store) -> None:
    """Record the fingerprint, and the mtime of every folder the build publishes
    into; `outputs_intact` stats only the files of a folder whose mtime moved,
    and reads their names from the store (the build's `token` says which)."""
    folders = {folder: _mtime(output, folder) for folder in ["", *store.folders()]}
    record = {"value": value, "token": store.meta().get("token"), "plain": keep_unversioned,
              "folders": folders}
    write_marker(state_dir, "fingerprint", json.dumps(record, separators=(",", ":")))


def read_fingerprint(state_dir: str) -> dict | None:
    try:
        record = json.loads(read_marker(state_dir, "fingerprint") or "")
    except ValueError:
        return None
    # A corrupt marker is discarded (the build does the work and rewrites it).
    ok = isinstance(record, dict) and isinstance(record.get("folders"), dict)
    return record if ok else None


def outputs_intact(output: str, state_dir: str, record: dict) -> bool:
    """True when every file the last build published is still there.  A folder
    whose mtime is unchanged lost no file; only a changed one (a file deleted —
    or a page written beside the assets) has its files stat'ed."""
    moved = [folder for folder, mtime in record["folders"].items()
             if _mtime(output, folder) != mtime]
    if not moved:
        return True
    from assetpipe.history import manifest_paths
    from assetpipe.manifest import MANIFEST_NAME
    from assetpipe.publish import parse_entry
    store = open_store(state_dir)
    try:
        if store.meta().get("token") != record.get("token"):
            return False   # not the state the fingerprint was written with
        for folder in moved:
            assets = dict(map(parse_entry, store.entries_in(folder)))
            names = manifest_paths({"assets": assets}, plain=record.get("plain", True))
            if folder == "":
                names.add(MANIFEST_NAME)
            if not all(os.path.exists(os.path.join(output, name)) for name in names):
                return False
    finally:
        store.close()
    return True


def _mtime(output: str, folder: str) -> int | None:
    try:
        return os.stat(os.path.join(output, folder)).st_mtime_ns
    except OSError:
        return None


def read_marker(state_dir: str, name: str) -> str | None:
    try:
        with open(os.path.join(state_dir, name)) as f:
            return f.read()
    except OSError:
        return None


def write_marker(state_dir: str, name: str, text: str) -> None:
    # Written in place, not via temp + rename: a build killed while writing the
    # `building` marker would otherwise leave a temp file that no build sweeps
    # (only a present marker triggers the sweep).  A torn marker is harmless:
    # `building` counts by existence, and the fingerprint is written while
    # `building` exists, so a torn one is never trusted.
    os.makedirs(state_dir, exist_ok=True)
    with open(os.path.join(state_dir, name), "w") as f:
        f.write(text)


def remove_marker(state_dir: str, name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(state_dir, name))
