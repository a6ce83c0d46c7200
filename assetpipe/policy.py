"""Serving and naming policy as data: the one place every consumer reads.

The build (twins, state), pages, the server rules (Apache, and any other
server template), `--check`, `sync` metadata, `clean` and the history all
decide "is this name versioned", "how long may it be cached", "which twin
has which suffix" and "where does the tool keep its own files" from here,
so the rules cannot drift between them.  Standard library only: the
runtime reader and the framework adapters may import it.
"""
from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass

from assetpipe.manifest import MANIFEST_NAME
from assetpipe.naming import name_parts

# One year: the longest max-age that caches honour (RFC 9111 advice); a
# versioned name never changes its bytes, so it may be kept that long.
IMMUTABLE_MAX_AGE = 31536000
IMMUTABLE_CACHE_CONTROL = f"public, max-age={IMMUTABLE_MAX_AGE}, immutable"
# Plain names (unversioned copies, pages, manifest.json) change on deploy.
DEFAULT_SHORT_MAX_AGE = 300


def short_cache_control(max_age: int) -> str:
    """Cache-Control for every name that is not versioned (0: revalidate every time)."""
    return f"public, max-age={max_age}" if max_age else "no-cache"


# The build keeps its own files (cache, fingerprint, PNG results, history)
# outside the output folder: WhiteNoise, a server without our rules and a
# naive sync all publish dot-named files too.  By default they live in a
# dot-folder beside the config file, one subfolder per output (like
# .pytest_cache).  Older releases kept them in <output>/.assetpipe/, which
# the first build with this layout moves out (assetpipe/statedir.py).
STATE_DIR = ".assetpipe"
# Temp files are written beside their targets (rename is atomic only within
# one folder), so they stay dot-named in the output and are swept.
TEMP_PREFIX = ".assetpipe-tmp-"


def default_state_dir(config_root: str, output: str) -> str:
    """`<config folder>/.assetpipe/<output slug>-<hash>/`: keyed by the output's
    path relative to the config, so moving the project keeps its state and
    two outputs of one config never share it."""
    import hashlib
    rel = os.path.relpath(output, config_root).replace(os.sep, "/")
    slug = re.sub(r"[^A-Za-z0-9_]+", "-", rel).strip("-") or "output"
    digest = hashlib.sha256(rel.encode()).hexdigest()[:8]
    return os.path.join(config_root, STATE_DIR, f"{slug}-{digest}")


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
_TWIN_TAIL = (r"(?:\.(?:"
              + "|".join(re.escape(s.lstrip(".")) for s in sorted(TWIN_SUFFIXES, key=len))
              + r"))?")
_VERSION = r"\.v[0-9a-f]{8,32}"
VERSIONED_NAME_RE = re.compile(_VERSION + r"(?:\.[^./]+)?" + _TWIN_TAIL + "$")


def is_versioned(path: str, prehashed: tuple[str, ...] = ()) -> bool:
    """True for a name that caching treats as immutable (twins included).

    The build refuses sources, bundles and pages whose names match (see
    `misnamed`), so in a build's output this pattern names exactly the files
    the build versioned: the server rules and sync can rely on it.  `path` is
    relative to the output folder when `prehashed` (globs) is given.
    """
    return VERSIONED_NAME_RE.search(path) is not None or is_prehashed(path, prehashed)


def is_prehashed(path: str, prehashed: tuple[str, ...]) -> bool:
    """True for an output-relative path a `[versioning] prehashed` glob names (twins included)."""
    return bool(prehashed) and _prehashed_compiled(prehashed).match(path) is not None


# --- Already-hashed inputs -------------------------------------------------
# `[versioning] prehashed` globs name files a bundler (Vite, esbuild) has
# already given content-hashed names: they keep their names and are cached
# like versioned ones.  Their names carry no `.v<hex>`, so the rule is the
# globs, matched against the path inside the output folder.


def glob_regex(pattern: str) -> str:
    """Glob -> regex source, the one glob syntax of the config (bundles,
    budgets, prehashed): `*` and `?` stay within a folder, `**/` spans
    folders.  Plain syntax that Python, PCRE (Apache, nginx) and RE2 (Caddy)
    all read the same way."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:[^/]+/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] in "*?":
            out.append("[^/]*" if pattern[i] == "*" else "[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 1:]:
            end = pattern.index("]", i + 1)
            body = pattern[i + 1:end].replace("\\", "\\\\")
            out.append(f"[{'^' + body[1:] if body.startswith('!') else body}]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


def prehashed_re(prehashed: tuple[str, ...], prefix: str = "") -> str:
    """Anchored regex source for prehashed names and their twins; `prefix`
    (regex-escaped) is what precedes the output-relative path: the URL path
    for nginx/Caddy, the output folder for Apache's REQUEST_FILENAME."""
    globs = "|".join(glob_regex(p) for p in prehashed)
    return f"^{prefix}(?:{globs}){_TWIN_TAIL}$"


@functools.lru_cache(maxsize=16)
def _prehashed_compiled(prehashed: tuple[str, ...]) -> re.Pattern:
    return re.compile(prehashed_re(prehashed))


def names_re(logical_path: str) -> str:
    """Regex source for every name the build publishes for one asset, relative
    to the output folder: its plain copy, its versioned name -- any version,
    so a rule made from one build still fits the next edit -- and their
    twins.  For rules that single out one asset (server_rules)."""
    head, ext = name_parts(logical_path)
    return f"{regex_literal(head)}(?:{_VERSION})?{regex_literal(ext)}{_TWIN_TAIL}"


def regex_literal(text: str) -> str:
    """`text` as a regex that PCRE (Apache, nginx) and RE2 (Caddy) read alike
    and that survives every config's quoting: letters, digits, `_-/` and
    non-ASCII as they are, `.` as `\\.`, any other character as `\\xHH`
    (no quote, `#`, brace or backslash reaches a config file)."""
    return "".join(c if c.isalnum() or c in "_-/" or ord(c) > 127
                   else "\\." if c == "." else f"\\x{ord(c):02x}" for c in text)


# Plain names the tool owns at the output root: the build manifest and any
# twin of it (a server would hand `manifest.json.gz` to gzip clients asking
# for the manifest).
RESERVED_ROOT_NAMES = frozenset((MANIFEST_NAME, *(MANIFEST_NAME + s for s in TWIN_SUFFIXES)))


def is_reserved(path: str) -> bool:
    """True for a plain name no source, bundle or page may be written at:
    the manifest (and its twin names) or anything dot-named (tool state)."""
    return path in RESERVED_ROOT_NAMES or any(part.startswith(".") for part in path.split("/"))


def misnamed(path: str) -> str | None:
    """Why a source, bundle or page may not have this output name, or None.

    A name that looks versioned would be cached for a year by every server
    rule and skipped by size in sync, although its bytes can change; and it
    could be another asset's versioned file.
    """
    if is_versioned(path):
        return ("its name looks versioned (.v<8-32 hex>), so servers and sync would treat "
                "it as immutable; rename it (e.g. \".v-20241219\" or \"-v20241219\")")
    return None


def page_path_problem(path: str, in_build_output: bool) -> str | None:
    """Why a page may not be written at `path`: the tool's own names (in the
    build's output folder), or a name servers and sync would treat as an
    immutable versioned file."""
    if any(part.startswith(".") for part in path.split("/")):
        return "dot-named paths are the tool's own state and are never served"
    if in_build_output and is_reserved(path):
        return "that name belongs to the build manifest"
    return misnamed(path)


# --- CORS -----------------------------------------------------------------
# The Jinja helpers tag scripts and stylesheets with `integrity` and
# `crossorigin="anonymous"`, so a browser fetches them in CORS mode: from
# another origin (a CDN url_prefix) it blocks them unless the response says
# Access-Control-Allow-Origin.  Fonts are always fetched in CORS mode.
CORS_AUTO = "auto"      # "*" when url_prefix names an origin, else off
CORS_OFF = "off"
CORS_ANY = "*"
FONT_EXTENSIONS = (".woff2", ".woff", ".ttf", ".otf", ".eot")
# The names that carry the CORS headers: versioned names and fonts (twins
# included: the header must be on every variant a browser may get).
CORS_NAME_RE = re.compile(
    r"(?:" + _VERSION + r"(?:\.[^./]+)?|\.(?:"
    + "|".join(e.lstrip(".") for e in FONT_EXTENSIONS) + r"))" + _TWIN_TAIL + "$")


def cors_origin(setting: str, url_prefix: str) -> str:
    """The Access-Control-Allow-Origin value to send ("" = send none).

    `setting` is `[serve] cors`: "auto", "off", "*" or one origin.  A
    same-origin url_prefix ("/static/") needs no CORS; a CDN one does.
    """
    if setting == CORS_AUTO:
        return CORS_ANY if "//" in url_prefix else ""
    return "" if setting == CORS_OFF else setting


def wants_cors(path: str) -> bool:
    """True for a name whose responses carry the CORS headers."""
    return CORS_NAME_RE.search(path) is not None


def bucket_cors_rule(origin: str) -> dict:
    """The S3 bucket CORS rule `sync --cors` makes sure of (GET/HEAD only)."""
    return {"AllowedOrigins": [origin], "AllowedMethods": ["GET", "HEAD"],
            "AllowedHeaders": ["*"], "MaxAgeSeconds": 86400}
