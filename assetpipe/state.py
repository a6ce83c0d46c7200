"""The build cache in <output>/.assetpipe/: what the last build saw and made.

`state.json` maps each logical path to the stat of its inputs and the Built
record, so an unchanged file costs one stat.  `fingerprint` holds one hash
of every input's stat plus the settings: when it matches, the build is a
no-op and reads nothing else.  `building` marks a build in progress; finding
it at start means the last build was killed and temp files need sweeping.
"""
from __future__ import annotations

import hashlib
import json
import os

from assetpipe.writer import STATE_DIR, write_atomic

STATE_FORMAT = 1


def state_path(output: str, name: str) -> str:
    return os.path.join(output, STATE_DIR, name)


def load_state(output: str, settings_key: str) -> tuple[dict, dict]:
    """(asset records, link records) by logical path; empty when absent,
    corrupt or made with other settings."""
    try:
        with open(state_path(output, "state.json"), "rb") as f:
            state = json.loads(f.read())
    except (OSError, ValueError):
        return {}, {}
    if state.get("format") != STATE_FORMAT or state.get("settings") != settings_key:
        return {}, {}
    return state.get("assets", {}), state.get("links", {})


def save_state(output: str, settings_key: str, assets: dict, links: dict) -> None:
    data = {"format": STATE_FORMAT, "settings": settings_key, "assets": assets, "links": links}
    write_atomic(state_path(output, "state.json"),
                 json.dumps(data, sort_keys=True, separators=(",", ":")).encode())


def fingerprint(config_repr: str, stats: list[tuple], manifest_stat: tuple | None) -> str:
    h = hashlib.sha256(config_repr.encode())
    h.update(repr(stats).encode())
    h.update(repr(manifest_stat).encode())
    return h.hexdigest()


def read_marker(output: str, name: str) -> str | None:
    try:
        with open(state_path(output, name)) as f:
            return f.read()
    except OSError:
        return None


def write_marker(output: str, name: str, text: str) -> None:
    write_atomic(state_path(output, name), text.encode())


def remove_marker(output: str, name: str) -> None:
    try:
        os.unlink(state_path(output, name))
    except FileNotFoundError:
        pass
