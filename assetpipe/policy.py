"""Serving and naming policy as data: the one place every consumer reads.

The build (twins, state), pages, the server rules (Apache, and any other
server template), `--check`, `sync` metadata, `clean` and the history all
decide "is this name versioned", "how long may it be cached", "which twin
has which suffix" and "where does the tool keep its own files" from here,
so the rules cannot drift between them.  Standard library only: the
runtime reader and the framework adapters may import it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# One year: the longest max-age that caches honour (RFC 9111 advice); a
# versioned name never changes its bytes, so it may be kept that long.
IMMUTABLE_MAX_AGE = 31536000
IMMUTABLE_CACHE_CONTROL = f"public, max-age={IMMUTABLE_MAX_AGE}, immutable"
# Plain names (unversioned copies, pages, manifest.json) change on deploy.
DEFAULT_SHORT_MAX_AGE = 300


def short_cache_control(max_age: int) -> str:
    """Cache-Control for every name that is not versioned."""
    return f"public, max-age={max_age}"


# Everything the tool keeps for itself is dot-named: never served, never synced.
STATE_DIR = ".assetpipe"
TEMP_PREFIX = ".assetpipe-tmp-"


@dataclass(frozen=True)
class Twin:
    """A precompressed twin: `<file><suffix>`, served with Content-Encoding."""

    encoding: str   # Content-Encoding token, also the Accept-Encoding token
    suffix: str     # file name suffix, with the dot


# The gzip suffixes a build may write: ".gzip" (the contract's default) and
# ".gz" (the one nginx gzip_static, Caddy and WhiteNoise look for).
GZIP_SUFFIXES = (".gzip", ".gz")
BROTLI = Twin("br", ".br")
TWIN_SUFFIXES = (*GZIP_SUFFIXES, BROTLI.suffix)


def active_twins(gzip: bool, gzip_suffix: str, brotli: bool) -> tuple[Twin, ...]:
    """The configured twins in order of preference: brotli first, it is smaller."""
    found = []
    if brotli:
        found.append(BROTLI)
    if gzip:
        found.append(Twin("gzip", gzip_suffix))
    return tuple(found)


def twin_suffix(versioned_path: str, twin_path: str) -> str:
    """The suffix a twin adds to its file (`x.v1.css.gzip` -> `.gzip`)."""
    return twin_path[len(versioned_path):]


# `.v<hex>` followed by an extension or the end of the name, then optionally
# a twin suffix.  Caching is decided by the name alone, everywhere.
VERSIONED_NAME_RE = re.compile(
    r"\.v[0-9a-f]{8,32}(?:\.[^./]+)?(?:\.(?:"
    + "|".join(re.escape(s.lstrip(".")) for s in sorted(TWIN_SUFFIXES, key=len))
    + r"))?$")


def is_versioned(path: str) -> bool:
    """True for a name that caching treats as immutable (twins included)."""
    return VERSIONED_NAME_RE.search(path) is not None
