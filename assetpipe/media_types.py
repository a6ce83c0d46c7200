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

# Types whose bytes are text: served with "; charset=utf-8" when they are
# valid UTF-8 (everything the build writes itself is).
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


def is_text(path: str) -> bool:
    """A type whose header names a charset when the bytes are UTF-8."""
    return content_type(path) in TEXT_TYPES


def is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def content_type_header(path: str, utf8: bool = True) -> str:
    """Content-Type header value: a text type says `charset=utf-8` when its
    bytes are UTF-8 (`utf8`).  A text file that is not (copied unchanged by
    the build) gets the bare type, so the file's own declaration decides --
    a BOM, CSS `@charset`, HTML `<meta charset>`, XML `encoding=` -- and
    without one the browser's fallback (for CSS and classic scripts, the
    page's encoding).  An HTTP charset would override all of those."""
    ctype = content_type(path)
    return f"{ctype}; charset=utf-8" if utf8 and ctype in TEXT_TYPES else ctype


def is_compressible(path: str) -> bool:
    return MEDIA_TYPES.get(extension(path), DEFAULT_TYPE)[1]
