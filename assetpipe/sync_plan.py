"""Sync planning: pure functions from (local files, remote listing, index) to a plan.

No I/O here: `assetpipe.sync` gathers the inputs and carries the plan out.

Change detection follows the design's clarification.  A listing carries
size and ETag but no metadata, so:

* a versioned key (`.v<hex>` in its name, twins included) present in the
  listing with the right size is done — versioned names are immutable;
* every other key is compared by sha256.  The hashes come from a dot-named
  index object (key -> sha256 + the ETag the object had when the index was
  written); an entry is trusted only while the listed ETag still matches, so
  an object replaced behind our back (or by a sync that died before writing
  the index) falls back to one HEAD, which reads the sha256 we store in
  `x-amz-meta-sha256` on every upload.
"""
from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field

from assetpipe.history import next_entry_name, order_key
from assetpipe.manifest import MANIFEST_NAME
from assetpipe.media_types import content_type_header
from assetpipe.policy import (
    BROTLI,
    GZIP_SUFFIXES,
    IMMUTABLE_CACHE_CONTROL,
    STATE_DIR,
    is_versioned,
    short_cache_control,
    twin_suffix,
)

STATE_PREFIX = STATE_DIR + "/"               # remote state: never an asset, never pruned
INDEX_KEY = STATE_PREFIX + "index.json"
HISTORY_PREFIX = STATE_PREFIX + "manifests/"
INDEX_FORMAT = 1

# Twin suffixes when the build's manifest does not tell us (a plain folder).
DEFAULT_TWIN_SUFFIXES = {**dict.fromkeys(GZIP_SUFFIXES, "gzip"), BROTLI.suffix: BROTLI.encoding}

# Upload phases, in order: immutable assets first so nothing can reference a
# missing one; plain names and pages next; the manifest last.
VERSIONED, PLAIN, MANIFEST = range(3)


@dataclass(frozen=True)
class ObjectMeta:
    """What the object is served with; derived from the build, never sniffed."""

    content_type: str
    cache_control: str
    content_encoding: str | None = None


@dataclass(frozen=True)
class LocalFile:
    key: str                    # relative key, posix: "css/site.v1a2b3c4d5e.css"
    path: str                   # file whose bytes are uploaded (a twin with gzip_in_place)
    size: int                   # size of those bytes
    sha256: str | None          # hash of those bytes; None for versioned keys (compared by name)
    meta: ObjectMeta
    content: bytes | None = None  # snapshot taken at scan time (the manifest)
    text_path: str | None = None  # for a text type: the file whose bytes decide the charset
    lookalike: bool = False       # named like a versioned file, but the build did not version it
    prehashed: bool = False       # the manifest says so: immutable though not named .v<hex>

    @property
    def versioned(self) -> bool:
        return self.prehashed or (is_versioned(self.key) and not self.lookalike)


@dataclass(frozen=True)
class RemoteObject:
    size: int
    etag: str


@dataclass
class Plan:
    phases: tuple[list[LocalFile], list[LocalFile], list[LocalFile]] = \
        field(default_factory=lambda: ([], [], []))
    skips: list[str] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)

    @property
    def uploads(self) -> list[LocalFile]:
        return [f for phase in self.phases for f in phase]


def object_meta(key: str, type_path: str, encoding: str | None, short_max_age: int,
                lookalike: bool = False, prehashed: bool = False) -> ObjectMeta:
    """Headers for `key`: the type of `type_path` (a twin's original), caching by
    name, unless the build says the name only looks versioned, or is prehashed."""
    immutable = prehashed or (is_versioned(key) and not lookalike)
    cache = IMMUTABLE_CACHE_CONTROL if immutable else short_cache_control(short_max_age)
    return ObjectMeta(content_type_header(type_path), cache, encoding)


def twin_suffixes(manifest: dict | None) -> dict[str, str]:
    """Twin suffix -> encoding, as the build recorded them in the manifest."""
    found = {}
    for entry in (manifest or {}).get("assets", {}).values():
        for encoding, twin in entry.get("encodings", {}).items():
            found[twin_suffix(entry["path"], twin)] = encoding
    return found or dict(DEFAULT_TWIN_SUFFIXES)


def prehashed_keys(manifest: dict | None) -> frozenset[str]:
    """Files (and twins) of the manifest's `prehashed` entries: a sync may run
    without the config, so the manifest is what says they are immutable."""
    return frozenset(path for entry in (manifest or {}).get("assets", {}).values()
                     if entry.get("prehashed")
                     for path in (entry["path"], *entry.get("encodings", {}).values()))


def describe(keys: list[str], suffixes: dict[str, str], gzip_in_place: bool
             ) -> list[tuple[str, str, str, str | None]]:
    """(key, body key, type path, encoding) per key.

    A twin is `<file><suffix>` next to `<file>`: it is served with the
    original's type and a Content-Encoding.  With gzip_in_place a file that
    has a gzip twin is uploaded with the twin's bytes under its own key.
    """
    present = set(keys)
    out = []
    for key in keys:
        body, type_path, encoding = key, key, None
        for suffix, enc in suffixes.items():
            if key.endswith(suffix) and key[:-len(suffix)] in present:
                type_path, encoding = key[:-len(suffix)], enc
                break
        else:
            gzip_twin = next((key + s for s, enc in suffixes.items()
                              if enc == "gzip" and key + s in present), None)
            if gzip_in_place and gzip_twin:
                body, encoding = gzip_twin, "gzip"
        out.append((key, body, type_path, encoding))
    return out


def trusted_hashes(index: dict, remote: dict[str, RemoteObject]) -> dict[str, str]:
    """Index entries whose object still has the ETag recorded with them."""
    return {key: entry["sha256"] for key, entry in index.items()
            if key in remote and remote[key].etag == entry.get("etag")}


def keys_to_head(local: list[LocalFile], remote: dict[str, RemoteObject],
                 known: dict[str, str]) -> list[str]:
    """Plain keys whose remote hash is unknown and can't be ruled out by size."""
    return [f.key for f in local
            if not f.versioned and f.key in remote and f.key not in known
            and remote[f.key].size == f.size]


def plan_sync(local: list[LocalFile], remote: dict[str, RemoteObject], known: dict[str, str],
              keep: set[str] | None = None) -> Plan:
    """Decide what to upload (by phase), skip and delete.

    `known` maps keys to the remote sha256 (trusted index entries + HEADs).
    `keep` is set when pruning: versioned keys outside it are not uploaded
    (they would be deleted at once) and are deleted remotely.
    """
    plan = Plan()
    for f in sorted(local, key=lambda f: f.key):
        if keep is not None and f.versioned and f.key not in keep:
            continue
        if _is_current(f, remote.get(f.key), known.get(f.key)):
            plan.skips.append(f.key)
        else:
            plan.phases[upload_phase(f.key, f.versioned)].append(f)
    if keep is not None:
        plain = {f.key for f in local if not f.versioned}   # look-alikes included
        plan.deletes = sorted(k for k in remote if is_versioned(k) and k not in keep
                              and k not in plain and not k.startswith(STATE_PREFIX))
    return plan


def _is_current(f: LocalFile, obj: RemoteObject | None, remote_sha: str | None) -> bool:
    if obj is None or obj.size != f.size:
        return False
    return f.versioned or remote_sha == f.sha256


def upload_phase(key: str, versioned: bool) -> int:
    if key == MANIFEST_NAME:
        return MANIFEST
    return VERSIONED if versioned else PLAIN


def history_key(history: list[str], sha256: str, now: float | None = None) -> str:
    """`.assetpipe/manifests/s<sequence>-<UTC time>-<hash>.json`, numbered
    after the entries already there: the order is the order in which syncs
    recorded them, whatever each machine's clock says (history.order_key)."""
    return HISTORY_PREFIX + next_entry_name(history, sha256[:16], now)


def history_keys(remote_keys, newest_first: bool = True) -> list[str]:
    keys = [k for k in remote_keys if k.startswith(HISTORY_PREFIX) and k.endswith(".json")]
    return sorted(keys, key=order_key, reverse=newest_first)


def history_is_current(history: list[str], manifest_sha: str) -> bool:
    """True when the newest history entry already is this manifest."""
    return bool(history) and posixpath.basename(history[0]).endswith(f"-{manifest_sha[:16]}.json")


def history_to_read(history: list[str], manifest_sha: str, keep: int) -> list[str]:
    """History entries that, with the current manifest, make the newest `keep` builds."""
    if history_is_current(history, manifest_sha):
        return history[1:keep]
    return history[:keep - 1]


def parse_index(raw: bytes | None) -> dict:
    """Index object -> {key: {"sha256", "etag"}}; empty when absent or unreadable."""
    if not raw:
        return {}
    try:
        doc = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(doc, dict) or doc.get("format") != INDEX_FORMAT:
        return {}
    return doc.get("objects", {})


def render_index(objects: dict) -> bytes:
    """Deterministic bytes, so an unchanged index is never re-uploaded."""
    doc = {"format": INDEX_FORMAT, "objects": objects}
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
