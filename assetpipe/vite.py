"""`[versioning] vite_manifest`: a Vite build's entries under their logical names.

A site that runs Vite first and publishes `dist/` through assetpipe asks
the manifest for "src/main.js", not for "assets/main-Bj9fyi-p.js": the Vite
manifest (`build.manifest = true`) says which hashed file each source
became.  Its files must be `[versioning] prehashed`, so they keep the names
Vite's chunks import each other by, and servers cache them as immutable.
"""
from __future__ import annotations

import json
import os

from assetpipe.errors import BuildError, UsageError
from assetpipe.policy import is_prehashed


def read_entries(path: str, source: str, prehashed: tuple[str, ...]) -> dict[str, dict]:
    """Vite entry name -> {"file": logical path, "css": [logical paths]}.

    Paths in the manifest are relative to Vite's outDir: the folder holding
    `.vite/manifest.json` (Vite 5) or `manifest.json` (Vite 2-4)."""
    try:
        with open(path, "rb") as f:
            doc = json.loads(f.read())
    except OSError as exc:
        raise BuildError(f"cannot read the Vite manifest: {exc.strerror}", path) from None
    except ValueError as exc:
        raise BuildError(f"not a Vite manifest (invalid JSON: {exc})", path) from None
    out_dir = os.path.dirname(path)
    if os.path.basename(out_dir) == ".vite":
        out_dir = os.path.dirname(out_dir)
    if not isinstance(doc, dict):
        raise BuildError("not a Vite manifest (expected an object of entries)", path)
    entries = {}
    for name, entry in sorted(doc.items()):
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            raise BuildError(f"entry {name!r} has no \"file\"", path)
        files = [_logical(path, out_dir, source, f) for f in [entry["file"], *entry.get("css", ())]]
        for logical in files:
            if not is_prehashed(logical, prehashed):
                raise UsageError(f"versioning.prehashed: {logical} (from the Vite manifest {path}) "
                                 "matches none of its globs; add one such as \"assets/**\"")
        entries[name] = {"file": files[0], "css": files[1:]}
    return entries


def _logical(path: str, out_dir: str, source: str, rel: str) -> str:
    """A Vite output path as a logical path of the source folder."""
    full = os.path.normpath(os.path.join(out_dir, rel))
    logical = os.path.relpath(full, source).replace(os.sep, "/")
    if logical.startswith("../") or os.path.isabs(rel):
        raise BuildError(f"{rel!r} is outside the source folder {source}; point `source` "
                         "at Vite's outDir", path)
    return logical


def names_of(entries: dict[str, dict]) -> set[str]:
    """The names add_entries looks up: the entries' own and their files'."""
    return set(entries).union(*([e["file"], *e["css"]] for e in entries.values()))


def add_entries(assets: dict, entries: dict[str, dict], path: str) -> list[str]:
    """Add each entry of the Vite manifest at `path` (read_entries) to the
    manifest's `assets` (which holds at least the outputs among names_of)
    as a copy of its file's entry (plus `css`: the logical names of its
    stylesheets); warnings."""
    warnings = []
    for name, entry in entries.items():
        if name in assets:
            warnings.append(f"{path}: Vite entry {name!r} has the name of a file of the "
                            "source folder; the file keeps the name")
            continue
        for logical in [entry["file"], *entry["css"]]:
            if logical not in assets:
                raise BuildError(f"entry {name!r} names {logical}, which is not in the "
                                 "source folder (a stale Vite manifest?)", path)
        extra = {"css": entry["css"]} if entry["css"] else {}
        assets[name] = dict(assets[entry["file"]], **extra)
    return warnings
