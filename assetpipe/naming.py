"""Versioned names: `css/site.css` -> `css/site.v1a2b3c4d5e.css`.

The version goes before the last extension; a name without one gets it as a
suffix (`LICENSE.v0f9e8d7c6b`).  Caching policy everywhere is decided by the
name alone (VERSIONED_NAME_RE), so this module is the single source of it.
"""
from __future__ import annotations

import hashlib
import posixpath
import re

# `.v<hex>` followed by an extension or the end of the name, optionally a twin suffix.
VERSIONED_NAME_RE = re.compile(r"\.v[0-9a-f]{8,32}(?:\.[^./]+)?(?:\.(?:gz|gzip|br))?$")


def content_version(content: bytes, length: int) -> str:
    """Hex version from the final bytes (sha256, truncated)."""
    return hashlib.sha256(content).hexdigest()[:length]


def versioned_name(logical_path: str, version: str) -> str:
    head, ext = posixpath.splitext(logical_path)
    if not posixpath.basename(head) or ext == ".":  # ".htaccess", "notes."
        head, ext = logical_path, ""
    return f"{head}.v{version}{ext}"


def is_versioned(path: str) -> bool:
    return VERSIONED_NAME_RE.search(path) is not None
