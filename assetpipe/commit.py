"""What a finished build writes, in order: its rows of the state store, the
manifest (joined from stored per-asset fragments), a history entry (a delta
when the store knows the entry it follows), then one COMMIT.

A build killed before the COMMIT leaves the previous state whole; the next
build (a full one: `building` is still there) redoes the same work and
finds the manifest and history entry it may already have written.
"""
from __future__ import annotations

import heapq
import json
import os
import secrets
from bisect import bisect_left
from dataclasses import dataclass, field
from itertools import accumulate

from assetpipe import history
from assetpipe import publish as manifest_file
from assetpipe.config import Config
from assetpipe.incremental import Work, edges
from assetpipe.manifest import MANIFEST_NAME
from assetpipe.publish import (
    manifest_entry,
    manifest_tail,
    parse_entry,
    render_entry,
    render_fragments,
    splice_manifest,
)

# Above this many changed entries, one pass over every stored fragment is
# cheaper than locating each in the previous manifest.
SPLICE_LIMIT = 64


@dataclass
class Changes:
    """What the manifest and the history need to know about this build's rows."""

    entries: dict[str, dict] = field(default_factory=dict)   # changed or added
    fragments: dict[str, str] = field(default_factory=dict)  # their manifest text
    removed: dict[str, dict] = field(default_factory=dict)   # entries of removed outputs
    pieces: list[tuple[int, int, str]] | None = None         # where they sat (see Store.pieces)
    section_length: int = 0                                  # of the old assets section


@dataclass
class Extra:
    """What the manifest holds besides the stored entries (build._extra)."""

    importmap: dict = field(default_factory=dict)
    assets: dict[str, dict] = field(default_factory=dict)   # Vite entries

    def key(self) -> str:
        return json.dumps([self.importmap, self.assets], sort_keys=True)


def save_rows(store, work: Work, built: list, records: dict,
              imports: dict[str, list[str]]) -> Changes:
    """Write the rows this build changed; returns what changed in the manifest.
    `imports`: each ES module's static imports (for its entry)."""
    old = store.entries(work.names | work.removed)
    rows, changes = [], Changes()
    for b in built:
        record = records[b.logical_path]
        record["built"] = b.as_dict()
        entry = manifest_entry(b, imports.get(b.logical_path))
        fragment = render_entry(b.logical_path, entry)
        if fragment != old.get(b.logical_path):
            changes.entries[b.logical_path] = entry
            changes.fragments[b.logical_path] = fragment
        elif record == work.previous.get(b.logical_path):
            continue
        sizes = b.encoded_sizes
        rows.append((b.logical_path, json.dumps(record, sort_keys=True), fragment, b.input_size,
                     b.size, sizes.get("gzip", b.size), sizes.get("br", b.size)))
    changes.removed = dict(parse_entry(old[name]) for name in work.removed if name in old)
    if len(changes.entries) + len(changes.removed) <= SPLICE_LIMIT:
        changes.pieces = store.pieces([*changes.entries, *changes.removed])
        changes.section_length = store.section_length()
    store.put_assets(rows)
    store.delete("assets", work.removed)
    delta = work.sources
    store.put_sources((name, *delta.stats[name]) for name in delta.changed)
    store.delete("sources", delta.gone)
    store.set_runs(delta.new_runs, delta.old_runs)
    store.put_links((name, json.dumps(cache)) for name, cache in work.link_cache.items()
                    if cache != work.stored_links.get(name))
    store.delete("links", work.stored_links.keys() - work.link_cache.keys()
                 if work.full else delta.gone)
    store.set_edges({**edges(work), **{name: set() for name in work.removed}})
    return changes


def sizes_of(store, work: Work, built: list) -> dict[str, dict[str, int]]:
    """Every output's sizes for `[budgets]` (budgets.check): this build's, and
    the store's for the outputs it did not look at.  The store keeps a
    missing twin's size as the file's own, which is what check() counts."""
    sizes = {} if work.full else store.sizes(work.removed)
    sizes.update((b.logical_path, {"raw": b.size, **b.encoded_sizes}) for b in built)
    return sizes


def publish(store, output: str, state_dir: str, changes: Changes, url_prefix: str,
            build_info: dict, extra: Extra) -> bool:
    """Write manifest.json (and a history entry) if anything in it changed;
    True if it was written.  A manifest replaced or deleted behind our back
    (its stat is not the one recorded) is written again, whole, and so is one
    whose Vite entries changed (copies of others: no fragment of their own)."""
    meta = store.meta()
    info = json.dumps(build_info, sort_keys=True)
    ours = meta.get("manifest") == _manifest_stat(output)
    vite = json.loads(meta.get("extra", Extra().key()))[1]   # the last build's Vite entries
    if not (changes.entries or changes.removed or meta.get("build") != info
            or meta.get("url_prefix") != url_prefix or not ours
            or meta.get("extra", Extra().key()) != extra.key()):
        return False
    tail = manifest_tail(url_prefix, build_info, extra.importmap)
    content = _spliced(output, changes, tail, vite) if ours and vite == extra.assets else None
    manifest, section = content or _whole(render_fragments(_fragments(store, extra), tail))
    manifest_file.publish_manifest(output, manifest)   # by module: tests stop a build here
    base = meta.get("history")
    entries = {**changes.entries, **{name: entry for name, entry in extra.assets.items()
                                     if vite.get(name) != entry}}
    removed = [*changes.removed, *(vite.keys() - extra.assets.keys())]
    head = history.record(state_dir, history.assets_hash(*section), manifest,
                          delta=(base, entries, removed) if base else None)
    store.set_meta({"build": info, "url_prefix": url_prefix, "history": head,
                    "manifest": _manifest_stat(output), "extra": extra.key()})
    return True


def _fragments(store, extra: Extra) -> list[str]:
    """Every stored fragment and the extra entries', in sorted order (merged:
    the stored ones are not parsed)."""
    added = sorted((name, render_entry(name, entry)) for name, entry in extra.assets.items())
    return [fragment for _, fragment in heapq.merge(store.fragments(), added)]


def _whole(rendered: tuple[bytes, bytes]) -> tuple[list, list]:
    return [rendered[0]], [rendered[1]]


def _spliced(output: str, changes: Changes, tail: str, around: dict) -> tuple[list, list] | None:
    """The new manifest made from the previous one by replacing the changed
    fragments only; None when that is not possible or not worth it.
    `around`: entries the manifest holds besides the stored ones (Vite's),
    unchanged: the changed ones' offsets move by theirs."""
    if changes.pieces is None:
        return None
    try:
        with open(os.path.join(output, MANIFEST_NAME), "rb") as f:
            old = f.read()
    except OSError:
        return None
    names = sorted(around)
    shift = list(accumulate((len(render_entry(n, around[n]).encode("utf-8")) + 2 for n in names),
                            initial=0))
    edits = [(offset + shift[bisect_left(names, name)], length, changes.fragments.get(name, ""))
             for offset, length, name in changes.pieces]
    return splice_manifest(old, changes.section_length + shift[-1], edits, tail)


def finish(store, settings_key: str, config_repr: str) -> None:
    """The single COMMIT; a new token tells fingerprints of older builds apart."""
    from assetpipe.engine_key import saved
    store.set_meta({"settings": settings_key, "config": config_repr,
                    "token": secrets.token_hex(8), **saved()})
    store.commit()


def _manifest_stat(output: str) -> str:
    try:
        st = os.stat(os.path.join(output, MANIFEST_NAME))
    except FileNotFoundError:
        return ""
    return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


def imports_of(work) -> dict[str, list[str]]:
    """Each ES module's static imports, for its manifest entry."""
    from assetpipe.modules import static_imports
    imports = {name: static_imports(links) for name, links in work.plan_links.items()}
    return {name: found for name, found in imports.items() if found}


def extra_of(config: Config, store, plans: dict, warnings: list[str]):
    """What the manifest holds besides the stored entries: the [importmap]
    (bare specifier -> logical name) and the Vite entries (copies of stored
    entries under their source names: only those are read from the store)."""
    from assetpipe.modules import check_import_map
    extra = Extra(importmap=check_import_map(config.importmap, plans))
    path = config.versioning.vite_manifest
    if path:
        from assetpipe import vite
        entries = vite.read_entries(path, config.source, config.versioning.prehashed)
        stored = vite.names_of(entries) & plans.keys()
        assets = dict(map(parse_entry, store.entries(stored).values()))
        warnings += vite.add_entries(assets, entries, path)
        extra.assets = {name: assets[name] for name in assets.keys() - stored}
    return extra
