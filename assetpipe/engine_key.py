"""The PNG engine's part of the settings key, remembered in the build state.

`images.png_settings_key` asks package metadata for pyoxipng's version, and
importing `images` loads Pillow: ~0.1 s of imports that a build editing one
JS file would pay only to compare the key with the stored one.  The state
keeps the key beside a stamp of what it was computed from -- the stat of
every module of this package (its constants) and of the engine's installed
module (an upgrade replaces it) -- and a build whose stamp matches uses the
stored key instead of computing it.
"""
from __future__ import annotations

import json
import os

_KNOWN: dict[str, str] = {}   # strip mode -> key, this process


def png_key(strip: str) -> str:
    """`images.png_settings_key(strip)`, or the one the state remembered."""
    if strip not in _KNOWN:
        from assetpipe.images import png_settings_key
        _KNOWN[strip] = png_settings_key(strip)
    return _KNOWN[strip]


def remember(meta: dict[str, str]) -> None:
    """Take the keys the state holds, if they were computed from what is installed now."""
    if meta.get("png_stamp") == _stamp():
        _KNOWN.update(json.loads(meta.get("png_keys") or "{}"))


def saved() -> dict[str, str]:
    """The store's meta rows that `remember` reads back."""
    return {"png_stamp": _stamp(), "png_keys": json.dumps(_KNOWN, sort_keys=True)}


def _stamp() -> str:
    from importlib.util import find_spec
    package = os.path.dirname(os.path.abspath(__file__))
    try:
        spec = find_spec("oxipng")
    except (ImportError, ValueError):
        spec = None
    paths = sorted(e.path for e in os.scandir(package) if e.name.endswith(".py"))
    if spec is not None and spec.origin:
        paths.append(spec.origin)
    return repr([(path, _stat(path)) for path in paths])


def _stat(path: str) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)
