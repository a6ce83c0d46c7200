"""The build cache in the state folder (Config.state_dir): what the last build saw and made.

`state.json` maps each logical path to the stat of its inputs and the Built
record, so an unchanged file costs one stat.  `fingerprint` holds one hash
of every input's stat plus the settings: when it matches, the build is a
no-op and reads nothing else.  `building` marks a build in progress; finding
it at start means the last build was killed and temp files need sweeping.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os

from assetpipe.writer import write_atomic

STATE_FORMAT = 1


def load_state(state_dir: str, settings_key: str) -> tuple[dict, dict]:
    """(asset records, link records) by logical path; empty when absent,
    corrupt or made with other settings."""
    try:
        with open(os.path.join(state_dir, "state.json"), "rb") as f:
            state = json.loads(f.read())
    except (OSError, ValueError):
        return {}, {}
    # A corrupt cache is discarded (a full build follows), never trusted.
    if (not isinstance(state, dict) or state.get("format") != STATE_FORMAT
            or state.get("settings") != settings_key):
        return {}, {}
    assets, links = state.get("assets"), state.get("links")
    if not (isinstance(assets, dict) and isinstance(links, dict)
            and all(_record_ok(r) for r in assets.values())
            and all(isinstance(r, dict) and {"stat", "links"} <= r.keys() for r in links.values())):
        return {}, {}
    return assets, links


def _record_ok(record) -> bool:
    return (isinstance(record, dict) and {"stat", "deps", "built"} <= record.keys()
            and isinstance(record["deps"], dict) and isinstance(record["built"], dict)
            and isinstance(record["built"].get("encodings"), dict)
            and isinstance(record["built"].get("versioned_path"), str))


def save_state(state_dir: str, settings_key: str, assets: dict, links: dict) -> None:
    data = {"format": STATE_FORMAT, "settings": settings_key, "assets": assets, "links": links}
    write_atomic(os.path.join(state_dir, "state.json"),
                 json.dumps(data, sort_keys=True, separators=(",", ":")).encode())


def fingerprint(config_repr: str, stats: list[tuple], manifest_stat: tuple | None) -> str:
    h = hashlib.sha256(config_repr.encode())
    h.update(repr(stats).encode())
    h.update(repr(manifest_stat).encode())
    return h.hexdigest()


def write_fingerprint(output: str, state_dir: str, value: str, keep_unversioned: bool) -> None:
    """Record the fingerprint, and per folder the manifest publishes into, its
    mtime and the files it should hold (read back by fingerprint_holds)."""
    from assetpipe.history import manifest_paths
    from assetpipe.manifest import MANIFEST_NAME
    try:
        with open(os.path.join(output, MANIFEST_NAME), "rb") as f:
            doc = json.loads(f.read())
    except (OSError, ValueError):
        return  # no fingerprint: the next build does the work
    folders: dict[str, list[str]] = {"": [MANIFEST_NAME]}
    for path in sorted(manifest_paths(doc, plain=keep_unversioned)):
        folder, name = os.path.split(path)
        folders.setdefault(folder, []).append(name)
    record = {"value": value, "folders": {folder: [_mtime(output, folder), names]
                                          for folder, names in folders.items()}}
    write_marker(state_dir, "fingerprint", json.dumps(record, separators=(",", ":")))


def fingerprint_holds(output: str, state_dir: str, value: str) -> bool:
    """True when the last build had this fingerprint and its outputs are all
    there.  A folder whose mtime is unchanged lost no file; only a changed one
    (a file deleted — or a page written beside the assets) has its files stat'ed."""
    try:
        record = json.loads(read_marker(state_dir, "fingerprint") or "")
        if record.get("value") != value:
            return False
        for folder, (mtime, names) in record["folders"].items():
            if _mtime(output, folder) != mtime and not all(
                    os.path.exists(os.path.join(output, folder, name)) for name in names):
                return False
    except (ValueError, TypeError, AttributeError, KeyError):
        return False  # a corrupt marker: the build does the work and rewrites it
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
