"""The cache of expensive results: recompressed PNGs, minified text, twins.

Each kind of result is keyed by the content it is computed from plus exactly
the settings and engine versions that shape it (`png_key`, `text_key`,
`gzip_key`, `brotli_key`, `scan_key`), so changing `brotli_quality`
re-encodes brotli twins and nothing else, and a renamed or reverted file
costs a read.

Entries live under `<state folder>/cache/<kind>/<xx>/<hash>` as self-describing
blobs (`encode_entry`): one header line naming the key, the payload's
sha256 and size (and any warnings the computation gave), then the payload.
Every read verifies the header against the key asked for and the payload
against its hash, so a flipped byte, a truncated file or another key's entry
is a miss, never an output.  The remote store (cache_remote.py) moves the
same blobs, so what a runner fetches is checked by the same code; fetched
blobs stay in their packs (cache_packs.py), read through the same check.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from assetpipe import cache_packs
from assetpipe.writer import write_atomic

# "scan": the references found in a CSS/JS text (graph.scan), cheap per file
# but the bulk of a build whose other results are all cached.
KINDS = ("png", "min", "gzip", "br", "scan")
ENTRY_MAGIC = b"APC1 "
# Bump when a kind's computation changes its output for the same input.
RECIPES = {"png": "1", "min": "1", "gzip": "1", "br": "1", "scan": "1"}


def cache_folder(state_dir: str) -> str:
    """The local cache folder, in the build's state folder (Config.state_dir)."""
    return os.path.join(state_dir, "cache")


@functools.lru_cache(maxsize=16)
def _recipe(kind: str, setting: str) -> str:
    """Kind + its settings + the engine versions that produce it."""
    if kind == "png":
        from assetpipe.images import png_settings_key
        engine = png_settings_key(setting)  # pyoxipng's version and the strip list
    elif kind == "min":
        import rcssmin
        import rjsmin

        from assetpipe.transforms import TOOL_EPOCH  # our template shielding shapes it
        engine = f"rjsmin {rjsmin.__version__} rcssmin {rcssmin.__version__} {TOOL_EPOCH}"
    elif kind == "scan":
        from assetpipe.graph import scanner_version
        engine = f"scanner {scanner_version()}"
    elif kind == "gzip":
        import zlib
        engine = f"zlib {zlib.ZLIB_RUNTIME_VERSION}"
    else:
        import brotli
        engine = f"brotli {getattr(brotli, '__version__', '?')}"
    return f"{kind}|{RECIPES[kind]}|{setting}|{engine}"


def _key(kind: str, setting: str, data: bytes) -> str:
    digest = hashlib.sha256(_recipe(kind, setting).encode() + b"\0")
    digest.update(hashlib.sha256(data).digest())
    return f"{kind}-{digest.hexdigest()}"


def png_key(data: bytes, strip: str) -> str:
    return _key("png", strip, data)


def text_key(extension: str, text: str) -> str:
    """Minified text: only the minifier (chosen by extension) and the text."""
    return _key("min", extension, text.encode("utf-8", "surrogatepass"))


def scan_key(syntax: str, text: str) -> str:
    """References in a text: only the scanner (chosen by `syntax`: css, js,
    or mjs, a module) and the text."""
    return _key("scan", syntax, text.encode("utf-8", "surrogatepass"))


def gzip_key(content: bytes, level: int) -> str:
    return _key("gzip", str(level), content)


def brotli_key(content: bytes, quality: int) -> str:
    """`quality` is the one used for this size: brotli_large_quality does not
    touch the twins of small files."""
    return _key("br", str(quality), content)


def source_tag(member_digests: Iterable[bytes]) -> str:
    """What a job's remote entries are filed under: the sha256 digests of its
    source files, in order.  The build computes it before running anything,
    to fetch only the packs that hold results for today's sources."""
    h = hashlib.sha256()
    for digest in member_digests:
        h.update(digest)
    return h.hexdigest()[:32]


def kind_of(key: str) -> str:
    return key.partition("-")[0]


def entry_path(folder: str, key: str) -> str:
    kind, _, digest = key.partition("-")
    return os.path.join(folder, kind, digest[:2], digest)


def encode_entry(key: str, payload: bytes, warnings: Iterable[str] = ()) -> bytes:
    header = {"key": key, "sha256": hashlib.sha256(payload).hexdigest(),
              "size": len(payload), "warnings": list(warnings)}
    return ENTRY_MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n" + payload


def decode_entry(key: str, blob: bytes) -> tuple[bytes, list[str]] | None:
    """(payload, warnings) when `blob` is an intact entry for `key`, else None."""
    if not blob.startswith(ENTRY_MAGIC):
        return None
    line, sep, payload = blob.partition(b"\n")
    try:
        header = json.loads(line[len(ENTRY_MAGIC):])
        ok = (sep and header["key"] == key and header["size"] == len(payload)
              and header["sha256"] == hashlib.sha256(payload).hexdigest())
        warnings = [str(w) for w in header.get("warnings", [])]
    except (ValueError, KeyError, TypeError):
        return None
    return (payload, warnings) if ok else None


def _read_blob(folder: str, key: str) -> bytes | None:
    """The stored blob for `key`: a fetched pack's slice, else its entry file
    (the fetch brings in only keys without one, so the order is free: the
    in-memory index goes first and saves a failed open per fetched key)."""
    blob = cache_packs.read(folder, key)
    if blob is not None:
        return blob
    try:
        with open(entry_path(folder, key), "rb") as f:
            return f.read()
    except OSError:
        return None


def has(folder: str, key: str) -> bool:
    """Is there a blob for `key` (not yet verified)?"""
    return os.path.exists(entry_path(folder, key)) or key in cache_packs.index(folder)


@dataclass
class Results:
    """One job's view of the local cache: what it found, what it computed.

    The hits and computed keys go back to the build, which counts them (a
    hit on a key the remote fetch just brought in is a remote hit) and
    pushes the computed ones.
    """

    folder: str
    tag: str = ""
    hits: list[str] = field(default_factory=list)
    computed: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    def lookup(self, key: str) -> tuple[bytes, list[str]] | None:
        blob = _read_blob(self.folder, key)
        if blob is None:
            return None
        found = decode_entry(key, blob)
        if found is None:
            self.rejected.append(key)
        return found

    def reuse(self, key: str, compute: Callable[[], bytes],
              check: Callable[[bytes], bool] | None = None) -> bytes:
        """memo() for a result this build has looked up already (a job's
        rescan of a text the plan scanned): a hit is not counted again."""
        return self.memo(key, compute, check, counted=False)

    def store(self, key: str, payload: bytes, warnings: Iterable[str] = ()) -> None:
        self.computed.append(key)
        write_atomic(entry_path(self.folder, key), encode_entry(key, payload, warnings))

    def memo(self, key: str, compute: Callable[[], bytes],
             check: Callable[[bytes], bool] | None = None, counted: bool = True) -> bytes:
        """The cached payload for `key` (passing `check`, if given), else
        compute() — stored for next time."""
        found = self.lookup(key)
        if found is not None and (check is None or check(found[0])):
            if counted:
                self.hits.append(key)
            return found[0]
        if found is not None:
            self.rejected.append(key)
        payload = compute()
        self.store(key, payload)
        return payload


def count(ledgers: Iterable[Results], fetched: set[str]) -> dict[str, dict[str, int]]:
    """Per kind: local hits, remote hits (keys this build fetched), computed."""
    counts = {kind: {"local": 0, "remote": 0, "computed": 0} for kind in KINDS}
    for results in ledgers:
        for key in results.hits:
            counts[kind_of(key)]["remote" if key in fetched else "local"] += 1
        for key in results.computed:
            counts[kind_of(key)]["computed"] += 1
    return counts
