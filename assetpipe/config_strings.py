"""Checks of the free-form string keys whose values land verbatim in a
server rule, a header, a URL or the import map: what type/choice/range
checks cannot say."""
from __future__ import annotations

import re

from assetpipe.config_checks import check_type
from assetpipe.errors import UsageError
from assetpipe.policy import CORS_ANY, CORS_AUTO, CORS_OFF


def check_strings(name: str, raw: dict) -> None:
    """Raise a UsageError naming the key when section `name`'s value is unsafe."""
    if name == "apache" and raw.get("fallback"):
        _check_fallback(raw["fallback"])
    if name == "serve" and "cors" in raw:
        _check_cors(raw["cors"])
    for key, value in raw.items() if name == "nginx" else ():
        # Each lands verbatim in one nginx directive.
        if re.search(r"[;{}\"'#\n]", value):
            raise UsageError(f"nginx.{key}: {value!r} must not contain ; {{ }} quotes or #")
    if name == "cache" and raw.get("remote"):
        _check_remote(raw["remote"])


def _check_fallback(value: str) -> None:
    # It lands verbatim in a RewriteRule: a path or an http(s) URL ending in
    # "/" (the request path is appended), and nothing Apache would re-parse.
    if not re.fullmatch(r'(?:https?://[^/\s"]+)?/[^\s"]*', value) or not value.endswith("/"):
        raise UsageError(f"apache.fallback: {value!r} must be a URL path like "
                         "\"/dynamic_handler/\" or a backend URL like "
                         "\"http://127.0.0.1:8000/\", ending in /")


def _check_cors(value: str) -> None:
    # One origin or "*": a list would need the server to echo the request's
    # Origin (and Vary: Origin), which a static rule cannot do safely.
    if value in (CORS_AUTO, CORS_OFF, CORS_ANY) or re.fullmatch(r"https?://[^/\s\"*,]+", value):
        return
    raise UsageError(f"serve.cors: {value!r} must be \"auto\", \"off\", \"*\" or one origin "
                     "like \"https://www.example.com\" (no path, no trailing /)")


def _check_remote(value: str) -> None:
    if not re.fullmatch(r"s3://[^/\s]+(/\S*)?", value):
        raise UsageError(f"cache.remote: {value!r} is not an s3://bucket/prefix URL")


def parse_importmap(raw) -> tuple[tuple[str, str], ...]:
    """Bare specifiers only: a relative or absolute key is resolved by the
    browser before the map is consulted, and a "pkg/" prefix key cannot map
    to versioned names (each file has its own)."""
    if not isinstance(raw, dict):
        raise UsageError("importmap: must be a table ([importmap])")
    for specifier, logical in raw.items():
        key = f'importmap."{specifier}"'
        check_type(key, logical, str)
        if not specifier or specifier.startswith((".", "/")) or specifier.endswith("/") \
                or ":" in specifier:
            raise UsageError(f"{key}: must be a bare specifier such as \"lodash\" "
                             "(not relative, absolute, or a prefix ending in /)")
        if not logical or logical.startswith("/") or ".." in logical.split("/"):
            raise UsageError(f"{key}: {logical!r} must be a logical name such as "
                             "\"vendor/lodash-es/lodash.js\"")
    return tuple(sorted(raw.items()))


def glob_list(key: str, value) -> tuple[str, ...]:
    """A list of output-relative globs, as a tuple (frozen config)."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise UsageError(f"{key}: must be a list of globs like [\"assets/**\"]")
    globs = tuple(v.strip().removeprefix("./") for v in value)
    for glob in globs:
        if glob.startswith("/") or ".." in glob.split("/"):
            raise UsageError(f"{key}: {glob!r} must be relative to the source folder")
    return globs
