"""The one table of file types: extension -> (content type, worth compressing).

The build (twins), the Apache rules (AddType) and the S3 sync (Content-Type)
all read this table, so a type is declared once.  Plain data, WhiteNoise-style.
"""
from __future__ import annotations

import posixpath

# extension (lower case, with dot) -> (content type, compressible)
MEDIA_TYPES: dict[str, tuple[str, bool]] = {
    ".css": ("text/css", True),
    ".js": ("text/javascript", True),
    ".mjs": ("text/javascript", True),
    ".cjs": ("text/javascript", True),
    ".json": ("application/json", True),
    ".map": ("application/json", True),
    ".webmanifest": ("application/manifest+json", True),
    ".html": ("text/html", True),
    ".htm": ("text/html", True),
    ".xml": ("application/xml", True),
    ".txt": ("text/plain", True),
    ".md": ("text/markdown", True),
    ".csv": ("text/csv", True),
    ".svg": ("image/svg+xml", True),
    ".ico": ("image/vnd.microsoft.icon", True),
    ".bmp": ("image/bmp", True),
    ".ttf": ("font/ttf", True),
    ".otf": ("font/otf", True),
    ".eot": ("application/vnd.ms-fontobject", True),
    ".wasm": ("application/wasm", True),
    ".ts": ("text/plain", True),
    ".less": ("text/plain", True),
    ".scss": ("text/plain", True),
    ".png": ("image/png", False),
    ".jpg": ("image/jpeg", False),
    ".jpeg": ("image/jpeg", False),
    ".gif": ("image/gif", False),
    ".webp": ("image/webp", False),
    ".avif": ("image/avif", False),
    ".woff": ("font/woff", False),
    ".woff2": ("font/woff2", False),
    ".mp4": ("video/mp4", False),
    ".webm": ("video/webm", False),
    ".mp3": ("audio/mpeg", False),
    ".ogg": ("audio/ogg", False),
    ".pdf": ("application/pdf", False),
    ".zip": ("application/zip", False),
    ".gz": ("application/gzip", False),
    ".tgz": ("application/gzip", False),
    ".br": ("application/octet-stream", False),
    ".bz2": ("application/x-bzip2", False),
    ".xz": ("application/x-xz", False),
    ".7z": ("application/x-7z-compressed", False),
}

DEFAULT_TYPE = ("application/octet-stream", False)

# Types served with "; charset=utf-8" (the build writes text as UTF-8).
TEXT_TYPES = frozenset(
    t for t, _ in MEDIA_TYPES.values()
    if t.startswith("text/") or t in ("application/json", "application/manifest+json",
                                      "application/xml", "image/svg+xml")
)


def extension(path: str) -> str:
    """Lower-case last extension of a logical path, with the dot ('' if none)."""
    return posixpath.splitext(path)[1].lower()


def content_type(path: str) -> str:
    return MEDIA_TYPES.get(extension(path), DEFAULT_TYPE)[0]


def content_type_header(path: str) -> str:
    """Content-Type header value, with the charset for text types."""
    ctype = content_type(path)
    return f"{ctype}; charset=utf-8" if ctype in TEXT_TYPES else ctype


def is_compressible(path: str) -> bool:
    return MEDIA_TYPES.get(extension(path), DEFAULT_TYPE)[1]
