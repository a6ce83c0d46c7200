"""The manifest: assembled from Built records, written last and atomically;
the plain copies it names are written before it."""
from __future__ import annotations

import json
import os
import time

from assetpipe.manifest import MANIFEST_NAME, MANIFEST_VERSION, manifest_problem
from assetpipe.policy import TWIN_SUFFIXES, is_reserved, twin_suffix
from assetpipe.writer import link_or_copy, remove_file, write_atomic


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


def write_unversioned(built: list, config) -> None:
    """Plain copies: twins first, then the file (as pages do), and a twin the
    file no longer has is removed, or Apache would serve stale bytes from it."""
    if not config.versioning.keep_unversioned:
        return
    out = config.output
    logicals = {b.logical_path for b in built}
    for b in built:
        if is_reserved(b.logical_path) or b.prehashed:
            continue  # the manifest's name: versioned only; a prehashed one is its plain name
        suffixes = {twin_suffix(b.versioned_path, twin): twin for twin in b.encodings.values()}
        for suffix in TWIN_SUFFIXES:
            plain_twin = b.logical_path + suffix
            if suffix in suffixes:
                link_or_copy(os.path.join(out, suffixes[suffix]), os.path.join(out, plain_twin))
            elif plain_twin not in logicals:  # "x.js.gz" may be an asset of its own
                remove_file(os.path.join(out, plain_twin))
        link_or_copy(os.path.join(out, b.versioned_path), os.path.join(out, b.logical_path))
