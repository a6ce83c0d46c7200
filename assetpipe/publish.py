"""The manifest: assembled from Built records, written last and atomically."""
from __future__ import annotations

import json
import os
import time

from assetpipe.manifest import MANIFEST_NAME, MANIFEST_VERSION, manifest_problem
from assetpipe.policy import is_reserved, twin_suffix
from assetpipe.writer import remove_file, write_atomic


def manifest_assets(built: list, imports: dict[str, list[str]] | None = None) -> dict:
    """Manifest entries; an ES module's entry lists its static `imports`."""
    imports = imports or {}
    assets = {}
    for b in sorted(built, key=lambda b: b.logical_path):
        entry = {"path": b.versioned_path, "size": b.size, "integrity": b.integrity,
                 "encodings": dict(sorted(b.encodings.items()))}
        if b.bundle:
            entry["sources"] = list(b.sources)
        if b.logical_path in imports:
            entry["imports"] = list(imports[b.logical_path])
        if b.sourcemap:
            entry["sourcemap"] = b.sourcemap
        if b.prehashed:  # name kept from the bundler; immutable like a versioned one
            entry["prehashed"] = True
        assets[b.logical_path] = entry
    return assets


def read_current(output: str) -> dict | None:
    """The output's manifest; None when absent, unreadable or not ours (a
    corrupt manifest is replaced by the next build, never trusted)."""
    try:
        with open(os.path.join(output, MANIFEST_NAME), "rb") as f:
            doc = json.loads(f.read())
    except (OSError, ValueError):
        return None
    return None if manifest_problem(doc) else doc


def render_manifest(assets: dict, url_prefix: str, build_info: dict,
                    importmap: dict | None = None, created: float | None = None) -> bytes:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created))
    doc = {"manifest_version": MANIFEST_VERSION, "created": stamp, "url_prefix": url_prefix,
           "build": build_info, "assets": assets}
    if importmap:  # [importmap]: bare specifier -> logical name
        doc["importmap"] = importmap
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def publish_manifest(output: str, content: bytes) -> None:
    write_atomic(os.path.join(output, MANIFEST_NAME), content)


def remove_stale_copies(output: str, old: dict, kept) -> None:
    """Plain copies of assets that left the build (a deleted source), or of
    every asset once keep_unversioned is off, would be served and synced
    forever; versioned files stay for `clean`.  Only a copy still equal to
    the versioned file the old manifest named goes: anything written there
    since (a page) is not ours to remove."""
    import filecmp
    for logical in old.keys() - kept:
        if is_reserved(logical):
            continue
        versioned = old[logical]["path"]
        if versioned == logical:  # a prehashed name: `clean` decides, like any versioned one
            continue
        pairs = [(logical, versioned)] + [(logical + twin_suffix(versioned, twin), twin)
                                          for twin in old[logical].get("encodings", {}).values()]
        for plain, source in pairs:
            plain, source = os.path.join(output, plain), os.path.join(output, source)
            try:
                same = filecmp.cmp(plain, source, shallow=False)
            except OSError:
                continue
            if same:
                remove_file(plain)
