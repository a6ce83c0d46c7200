"""Versioned names: `css/site.css` -> `css/site.v1a2b3c4d5e.css`.

The version goes before the last extension; a name without one gets it as a
suffix (`LICENSE.v0f9e8d7c6b`).  Which names count as versioned (and so are
cached forever) is serving policy: `policy.is_versioned`.
"""
from __future__ import annotations

import hashlib
import posixpath


def content_version(content: bytes, length: int) -> str:
    """Hex version from the final bytes (sha256, truncated)."""
    return hashlib.sha256(content).hexdigest()[:length]


def name_parts(logical_path: str) -> tuple[str, str]:
    """(what goes before the version, what goes after it)."""
    head, ext = posixpath.splitext(logical_path)
    if not posixpath.basename(head) or ext == ".":  # ".htaccess", "notes."
        return logical_path, ""
    return head, ext


def versioned_name(logical_path: str, version: str) -> str:
    head, ext = name_parts(logical_path)
    return f"{head}.v{version}{ext}"
