"""URL arithmetic for references between assets: pure string functions.

Logical paths are posix, relative to the source root ("css/site.css").  URLs
are what a stylesheet writes ("../img/a%20b.png?v=2#x").  Paths are
percent-decoded for lookup (`split_url`) and the few characters that would
change a URL's meaning are percent-encoded on the way back (`relative_url`);
CSS-level quoting is `references.rewrite`'s job.  Nothing here touches the file
system or the current directory (posixpath.relpath would consult os.getcwd).
"""
from __future__ import annotations

import re
from urllib.parse import unquote

# RFC 3986 scheme; a relative path's first segment cannot hold a colon, so
# anything matching this is absolute (data:, http:, about:, mailto:, ...).
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_SLASHES = ("/", "\\")  # browsers read `\` as `/` in http(s) URLs
# `%`, `?` and `#` would be read as an escape, a query or a fragment; a
# backslash would be read as a slash.
_URL_UNSAFE = str.maketrans({"%": "%25", "?": "%3F", "#": "%23", "\\": "%5C"})


def _split(url: str) -> tuple[str, str]:
    cut = min((i for i in (url.find("?"), url.find("#")) if i >= 0), default=len(url))
    return url[:cut], url[cut:]


def split_url(url: str) -> tuple[str, str]:
    """(path, suffix): the path percent-decoded for lookup, and the
    `?query#fragment` kept verbatim so it can be appended again
    ("font.eot?#iefix" -> ("font.eot", "?#iefix"))."""
    path, suffix = _split(url)
    return unquote(path), suffix


def is_local(url: str) -> bool:
    """Is this a relative-path reference to a file the build can version?

    False for "", absolute URLs (`data:`, `http:`, `about:`, `mailto:`, ...),
    protocol-relative `//host/x`, root-relative `/x` (see is_root_relative),
    and references with no path (`#frag`, `?query`) such as Leaflet's
    `url(#default#VML)`.
    """
    path, _ = _split(url.strip())
    return bool(path) and not path.startswith(_SLASHES) and not _SCHEME.match(path)


def is_root_relative(url: str) -> bool:
    """`/img/a.png`: a path from the site's root, not from the referencing file."""
    url = url.strip()
    return url[:1] in _SLASHES and url[1:2] not in _SLASHES


def _normalise(segments: list[str]) -> list[str]:
    """Resolve `.` and `..`; unresolvable `..` are kept at the front."""
    out: list[str] = []
    for seg in segments:
        if seg in ("", "."):
            continue
        if seg == ".." and out and out[-1] != "..":
            out.pop()
        else:
            out.append(seg)
    return out


def _folder(path: str) -> list[str]:
    return [seg for seg in path.split("/") if seg]


def resolve(base_logical_path: str, url_path: str) -> str | None:
    """The logical path `url_path` (decoded, from split_url) names when written
    in the file `base_logical_path`; None if it climbs above the source root,
    names the root itself, or is root-relative."""
    if url_path.startswith(_SLASHES):
        return None
    parts = _normalise(_folder(base_logical_path)[:-1] + url_path.split("/"))
    if not parts or parts[0] == "..":
        return None
    return "/".join(parts)


def _relative(from_dir: list[str], to: list[str]) -> str:
    common = 0
    while (common < len(from_dir) and common < len(to) - 1
           and from_dir[common] == to[common]):
        common += 1
    return "/".join([".."] * (len(from_dir) - common) + to[common:])


def relative_url(from_logical_path: str, to_path: str) -> str:
    """URL from the folder of `from_logical_path` to the file `to_path`
    (both relative to the same root), e.g. for a versioned target:
    ("css/site.css", "img/a.v1234abcd.png") -> "../img/a.v1234abcd.png"."""
    path = _relative(_folder(from_logical_path)[:-1], _folder(to_path))
    return path.translate(_URL_UNSAFE)


def rebase(url: str, from_dir: str, to_dir: str) -> str:
    """Re-express a relative URL written in a file in `from_dir` for a file in
    `to_dir` (a bundle member's URL moved into the bundle), keeping
    `?query#fragment`.  Non-local URLs are returned unchanged."""
    if not is_local(url) or _folder(from_dir) == _folder(to_dir):
        return url
    path, suffix = _split(url.strip())
    target = _normalise(_folder(from_dir) + path.split("/"))
    return _relative(_normalise(_folder(to_dir)), target) + suffix
