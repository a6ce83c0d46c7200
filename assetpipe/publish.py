"""The manifest: assembled from Built records, written last and atomically."""
from __future__ import annotations

import json
import os
import time

from assetpipe.manifest import MANIFEST_NAME, MANIFEST_VERSION, manifest_problem
from assetpipe.policy import TWIN_SUFFIXES, is_reserved, twin_suffix
from assetpipe.writer import link_or_copy, remove_file, write_atomic


def manifest_entry(b, imports: list[str] | None = None) -> dict:
    """One Built record as the manifest's `assets` entry for it; an ES
    module's entry lists its static `imports`."""
    entry = {"path": b.versioned_path, "size": b.size, "integrity": b.integrity,
             "encodings": dict(sorted(b.encodings.items()))}
    if b.bundle:
        entry["sources"] = list(b.sources)
    if imports:
        entry["imports"] = list(imports)
    if b.sourcemap:
        entry["sourcemap"] = b.sourcemap
    if b.prehashed:  # name kept from the bundler; immutable like a versioned one
        entry["prehashed"] = True
    if b.not_utf8:  # served with its bare type, never charset=utf-8
        entry["not_utf8"] = True
    return entry


def render_entry(logical: str, entry: dict) -> str:
    """The text one asset takes inside manifest.json, exactly as json.dumps(indent=2)
    lays it out at that depth: kept per asset, so a build that changed one file
    joins stored fragments instead of re-encoding the whole site."""
    body = json.dumps(entry, indent=2, sort_keys=True, ensure_ascii=False)
    return f"    {json.dumps(logical, ensure_ascii=False)}: " + body.replace("\n", "\n    ")


def parse_entry(fragment: str) -> tuple[str, dict]:
    """(logical path, entry) back from a fragment."""
    ((logical, entry),) = json.loads("{" + fragment + "}").items()
    return logical, entry


def read_current(output: str) -> dict | None:
    """The output's manifest; None when absent, unreadable or not ours (a
    corrupt manifest is replaced by the next build, never trusted)."""
    try:
        with open(os.path.join(output, MANIFEST_NAME), "rb") as f:
            doc = json.loads(f.read())
    except (OSError, ValueError):
        return None
    return None if manifest_problem(doc) else doc


# The document's keys are sorted and "assets" sorts first, so the assets
# section opens the file and the other keys follow it.
ASSETS_OPEN = '{\n  "assets": {\n'
ASSETS_CLOSE = "\n  }"
EMPTY_ASSETS = '{\n  "assets": {}'


def manifest_tail(url_prefix: str, build_info: dict, importmap: dict | None = None,
                  created: float | None = None) -> str:
    """What follows the assets section: build, created, importmap (if any),
    manifest_version, url_prefix."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created))
    doc = {"manifest_version": MANIFEST_VERSION, "created": stamp, "url_prefix": url_prefix,
           "build": build_info, "assets": {}}
    if importmap:  # [importmap]: bare specifier -> logical name
        doc["importmap"] = importmap
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False)[len(EMPTY_ASSETS):] + "\n"


def render_fragments(fragments: list[str], tail: str) -> tuple[bytes, bytes]:
    """(manifest.json, its assets section) from per-asset fragments in sorted
    order: byte for byte what json.dumps(indent=2, sort_keys=True) gives."""
    section = ",\n".join(fragments).encode("utf-8")
    if not section:
        return (EMPTY_ASSETS + tail).encode("utf-8"), section
    return ASSETS_OPEN.encode() + section + ASSETS_CLOSE.encode() + tail.encode("utf-8"), section


def splice_manifest(old: bytes, section_length: int, edits: list[tuple[int, int, str]],
                    tail: str) -> tuple[list, list] | None:
    """The previous manifest.json with some assets' fragments replaced, added or
    removed, without reading the others: `edits` are (offset of the piece in
    the old section, old piece length, 0 to insert; new fragment, "" to
    remove), sorted; a piece is a fragment plus its ",\n".  Returns the new
    manifest and its assets section as lists of parts (views of `old`: a
    25 MB manifest is not copied), or None when `old` is not laid out as
    expected (the caller then renders it whole)."""
    start = len(ASSETS_OPEN)
    end = start + section_length
    if not (old.startswith(ASSETS_OPEN.encode()) and old[end:end + 5] == b"\n  },"):
        return None
    view = memoryview(old)[start:end]

    def pieces(low: int, high: int | None) -> list:   # [low:high] of old section + ",\n"
        last = 2 if high is None else max(high - section_length, 0)
        return [view[low:high], b",\n"[max(low - section_length, 0):last]]
    section, pos = [], 0
    for offset, length, fragment in edits:
        section += pieces(pos, offset)
        if fragment:
            section.append(fragment.encode("utf-8") + b",\n")
        pos = offset + length
    section += pieces(pos, None)
    section = [part for part in section if len(part)]
    if not section or sum(map(len, section)) <= 2:
        return None
    section[-1] = section[-1][:-2]   # every piece ends with ",\n": the last one loses it
    return [ASSETS_OPEN.encode(), *section, (ASSETS_CLOSE + tail).encode("utf-8")], section


def publish_manifest(output: str, content: bytes | list) -> None:
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


def write_unversioned(built: list, config, logicals) -> None:
    """Plain copies: twins first, then the file (as pages do), and a twin the
    file no longer has is removed, or Apache would serve stale bytes from it.
    `logicals`: every output's name (a "x.js.gz" may be an asset of its own)."""
    if not config.versioning.keep_unversioned:
        return
    out = config.output
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
