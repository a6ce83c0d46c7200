"""`assetpipe apache --check URL`: verify a running server over HTTP.

Takes a versioned css/js asset that has twins from manifest.json and checks,
against the bytes in the output folder, what the generated rules promise:
negotiation, types, caching by name, 304s, ranges, 404s, hidden dotfiles.
Standard library only, so it also runs where the build stack is not installed.
"""
from __future__ import annotations

import http.client
import json
import os
import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from assetpipe.errors import BuildError
from assetpipe.manifest import MANIFEST_NAME
from assetpipe.media_types import content_type
from assetpipe.policy import IMMUTABLE_MAX_AGE, STATE_DIR, VERSIONED_NAME_RE

TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Result:
    ok: bool
    what: str
    detail: str = ""

    def line(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.what}" + (f": {self.detail}" if self.detail else "")


@dataclass(frozen=True)
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name, "")


def fetch(url: str, method: str = "GET", headers: dict | None = None) -> Response:
    """One request, no redirects followed, nothing decoded."""
    parts = urlsplit(url)
    conn_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = conn_class(parts.netloc, timeout=TIMEOUT_SECONDS)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        # An explicit Accept-Encoding: http.client would not add one, but be clear.
        conn.request(method, path, headers={"Accept-Encoding": "identity", **(headers or {})})
        response = conn.getresponse()
        return Response(response.status, response.headers, response.read())
    finally:
        conn.close()


def pick_asset(manifest: dict) -> tuple[str, dict]:
    """A css or js asset with the most twins (the ones worth checking)."""
    candidates = [(name, entry) for name, entry in sorted(manifest["assets"].items())
                  if name.endswith((".css", ".js")) and entry.get("encodings")]
    if not candidates:
        raise BuildError("manifest.json has no css or js asset with a compressed twin to check")
    return max(candidates, key=lambda item: len(item[1]["encodings"]))


def check_deployment(base_url: str, output_dir: str) -> list[Result]:
    """Run every check; `base_url` is where the output folder is served."""
    base = base_url if base_url.endswith("/") else base_url + "/"
    manifest_path = os.path.join(output_dir, MANIFEST_NAME)
    if not os.path.isfile(manifest_path):
        raise BuildError("no manifest.json: run `assetpipe build` first", manifest_path)
    with open(manifest_path, "rb") as f:
        _, entry = pick_asset(json.load(f))
    results = []
    variants = [("identity", entry["path"])] + sorted(entry["encodings"].items())
    for encoding, path in variants:
        with open(os.path.join(output_dir, path), "rb") as f:
            expected = f.read()
        results += check_variant(base + quote(entry["path"]), encoding, expected, entry["path"])
    results += check_short_cached(base + MANIFEST_NAME)
    results += check_missing(base + quote(_missing_version(entry["path"])))
    results += check_hidden(base + STATE_DIR + "/")
    return results


def check_variant(url: str, encoding: str, expected: bytes, path: str) -> list[Result]:
    """GET, HEAD, 304 and Range for one encoding of a versioned asset."""
    label = f"{path} ({encoding})"
    got = fetch(url, headers={"Accept-Encoding": encoding})
    want_encoding = "" if encoding == "identity" else encoding
    results = [
        Result(got.status == 200, f"{label} status", str(got.status)),
        Result(got.body == expected, f"{label} body matches the file",
               f"{len(got.body)} bytes, expected {len(expected)}"),
        Result(got.header("Content-Encoding") == want_encoding, f"{label} Content-Encoding",
               repr(got.header("Content-Encoding"))),
        Result(got.header("Content-Type").startswith(content_type(path)), f"{label} Content-Type",
               got.header("Content-Type")),
        Result("accept-encoding" in got.header("Vary").lower(), f"{label} Vary", got.header("Vary")),
        Result(_is_immutable(got), f"{label} cached for a year", got.header("Cache-Control")),
    ]
    etag = got.header("ETag")
    revalidated = fetch(url, headers={"Accept-Encoding": encoding, "If-None-Match": etag})
    results.append(Result(bool(etag) and revalidated.status == 304, f"{label} If-None-Match -> 304",
                          f"{revalidated.status} for ETag {etag}"))
    head = fetch(url, "HEAD", {"Accept-Encoding": encoding})
    results.append(Result(head.status == 200 and not head.body
                          and head.header("Content-Length") == str(len(expected)),
                          f"{label} HEAD", f"{head.status}, Content-Length {head.header('Content-Length')}"))
    ranged = fetch(url, headers={"Accept-Encoding": encoding, "Range": "bytes=0-9"})
    results.append(Result(ranged.status == 206 and ranged.body == expected[:10],
                          f"{label} Range bytes=0-9", f"{ranged.status}, {len(ranged.body)} bytes"))
    return results


def check_short_cached(url: str) -> list[Result]:
    got = fetch(url)
    return [Result(got.status == 200 and not _is_immutable(got), f"{url} short-cached",
                   f"{got.status}, Cache-Control {got.header('Cache-Control')!r}")]


def check_missing(url: str) -> list[Result]:
    got = fetch(url, headers={"Accept-Encoding": "gzip, br"})
    return [Result(got.status == 404 and not _is_immutable(got) and not got.header("Expires"),
                   f"{url} missing version is a plain 404",
                   f"{got.status}, Cache-Control {got.header('Cache-Control')!r}")]


def check_hidden(url: str) -> list[Result]:
    got = fetch(url)
    return [Result(got.status in (403, 404), f"{url} not served", str(got.status))]


def _is_immutable(response: Response) -> bool:
    cache = response.header("Cache-Control")
    return "immutable" in cache or f"max-age={IMMUTABLE_MAX_AGE}" in cache


def _missing_version(path: str) -> str:
    """The same name with a version no build produces (all zeros)."""
    start = VERSIONED_NAME_RE.search(path).start()
    return path[:start] + re.sub(r"^\.v[0-9a-f]+", lambda m: ".v" + "0" * (len(m.group()) - 2),
                                 path[start:])
