"""The manifest: assembled from Built records, written last and atomically."""
from __future__ import annotations

import json
import os
import time

from assetpipe.manifest import MANIFEST_NAME, MANIFEST_VERSION, manifest_problem
from assetpipe.writer import write_atomic


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
