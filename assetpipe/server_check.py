"""`assetpipe apache|nginx|caddy --check URL`: verify a running server over HTTP.

One battery for every server.  From manifest.json it takes one versioned
asset of each kind the rules treat differently (css, js, svg, png, woff2,
html: the one with the most twins; and one text file that is not UTF-8, if
any) and checks, against the bytes in the output folder, what the generated
rules promise: negotiation (q=0 refuses), types (charset=utf-8 exactly when
the bytes are UTF-8 text), caching by name, CORS, 304s, HEAD and ranges on
every variant, no second compression, plain 404s for wrong versions, hidden
state.
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
from assetpipe.media_types import content_type, content_type_header, is_text, is_utf8
from assetpipe.policy import IMMUTABLE_MAX_AGE, STATE_DIR, VERSIONED_NAME_RE, wants_cors

TIMEOUT_SECONDS = 10
# One of each kind: text with twins, images with and without, fonts, pages.
KINDS = (".css", ".js", ".svg", ".png", ".woff2", ".html")


@dataclass(frozen=True)
class Result:
    ok: bool
    what: str
    detail: str = ""

    def line(self) -> str:
        detail = f": {self.detail}" if self.detail else ""
        return f"{'PASS' if self.ok else 'FAIL'}  {self.what}{detail}"


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
    secure = parts.scheme == "https"
    conn_class = http.client.HTTPSConnection if secure else http.client.HTTPConnection
    conn = conn_class(parts.netloc, timeout=TIMEOUT_SECONDS)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        # An explicit Accept-Encoding: http.client would not add one, but be clear.
        conn.request(method, path, headers={"Accept-Encoding": "identity", **(headers or {})})
        response = conn.getresponse()
        return Response(response.status, response.headers, response.read())
    finally:
        conn.close()


def pick_assets(manifest: dict) -> list[tuple[str, dict]]:
    """Per kind in KINDS, the UTF-8 asset with the most twins (the one worth
    checking), then the text asset that is not UTF-8 with the most (the rules
    make an exception for it)."""
    picked = []
    assets = sorted(manifest["assets"].items())
    for kind in KINDS:
        candidates = [(name, entry) for name, entry in assets
                      if name.endswith(kind) and not entry.get("not_utf8")]
        if candidates:
            picked.append(max(candidates, key=lambda item: len(item[1].get("encodings", {}))))
    legacy = [(name, entry) for name, entry in assets if entry.get("not_utf8")]
    if legacy:
        picked.append(max(legacy, key=lambda item: len(item[1].get("encodings", {}))))
    if not any(entry.get("encodings") for _, entry in picked):
        raise BuildError("manifest.json has no asset with a compressed twin to check")
    return picked


def run_checks(url: str, output_dir: str, cors_origin: str, echo) -> None:
    """`--check`: every result through `echo`; BuildError (exit 1) if any failed."""
    try:
        results = check_deployment(url, output_dir, cors_origin)
    except OSError as exc:
        raise BuildError(f"cannot check {url}: {exc}") from None
    for result in results:
        echo(result.line())
    failed = sum(not r.ok for r in results)
    if failed:
        raise BuildError(f"{failed} of {len(results)} checks failed against {url}")


def check_deployment(base_url: str, output_dir: str, cors_origin: str = "") -> list[Result]:
    """Run every check; `base_url` is where the output folder is served.

    `cors_origin`: the Access-Control-Allow-Origin the rules should send on
    versioned names and fonts ("" = not checked).
    """
    base = base_url if base_url.endswith("/") else base_url + "/"
    manifest_path = os.path.join(output_dir, MANIFEST_NAME)
    if not os.path.isfile(manifest_path):
        raise BuildError("no manifest.json: run `assetpipe build` first", manifest_path)
    with open(manifest_path, "rb") as f:
        picked = pick_assets(json.load(f))
    results = []
    for logical, entry in picked:
        results += check_asset(base, output_dir, entry, cors_origin)
        if os.path.isfile(os.path.join(output_dir, logical)):  # keep_unversioned
            results += check_short_cached(base + quote(logical), logical,
                                          not entry.get("not_utf8"))
    results += check_short_cached(base + MANIFEST_NAME, MANIFEST_NAME)
    with_twins = next(entry for _, entry in picked if entry.get("encodings"))
    results += check_missing(base + quote(_missing_version(with_twins["path"])))
    results += check_hidden(base + STATE_DIR + "/")
    return results


def check_asset(base: str, output_dir: str, entry: dict, cors_origin: str) -> list[Result]:
    """Every variant of one versioned asset, then its negotiation."""
    url = base + quote(entry["path"])
    encodings = entry.get("encodings", {})
    results = []
    utf8 = True
    for encoding, path in [("identity", entry["path"]), *sorted(encodings.items())]:
        with open(os.path.join(output_dir, path), "rb") as f:
            expected = f.read()
        utf8 = is_utf8(expected) if encoding == "identity" else utf8  # twins: the file's
        results += check_variant(url, encoding, expected, entry["path"], bool(encodings),
                                 cors_origin, utf8)
    return results + check_negotiation(url, entry)


def check_variant(url: str, encoding: str, expected: bytes, path: str, has_twins: bool,
                  cors_origin: str = "", utf8: bool = True) -> list[Result]:
    """GET, 304s, HEAD and Range for one encoding of a versioned asset.

    Every variant of a name with twins must say `Vary: Accept-Encoding`;
    each has the type of the file (`utf8`: its uncompressed bytes are UTF-8).
    """
    label = f"{path} ({encoding})"
    got = fetch(url, headers={"Accept-Encoding": encoding})
    want_encoding = "" if encoding == "identity" else encoding
    results = [
        Result(got.status == 200, f"{label} status", str(got.status)),
        Result(got.body == expected, f"{label} body matches the file",
               f"{len(got.body)} bytes, expected {len(expected)}"),
        Result(got.header("Content-Encoding") == want_encoding, f"{label} Content-Encoding",
               repr(got.header("Content-Encoding"))),
        check_type(got, path, utf8, label),
        Result(_is_immutable(got), f"{label} cached for a year", got.header("Cache-Control")),
    ]
    if has_twins:
        results.append(Result("accept-encoding" in got.header("Vary").lower(), f"{label} Vary",
                              got.header("Vary")))
    if cors_origin and wants_cors(path):
        results += [Result(got.header(name) == cors_origin, f"{label} {name}",
                           repr(got.header(name)))
                    for name in ("Access-Control-Allow-Origin", "Timing-Allow-Origin")]
    return results + check_conditional(url, encoding, got, label) + check_partial(
        url, encoding, expected, label)


def check_conditional(url: str, encoding: str, got: Response, label: str) -> list[Result]:
    """If-None-Match and If-Modified-Since both give 304 for this variant."""
    etag, modified = got.header("ETag"), got.header("Last-Modified")
    by_etag = fetch(url, headers={"Accept-Encoding": encoding, "If-None-Match": etag})
    by_date = fetch(url, headers={"Accept-Encoding": encoding, "If-Modified-Since": modified})
    return [Result(bool(etag) and by_etag.status == 304, f"{label} If-None-Match -> 304",
                   f"{by_etag.status} for ETag {etag}"),
            Result(bool(modified) and by_date.status == 304, f"{label} If-Modified-Since -> 304",
                   f"{by_date.status} for {modified}")]


def check_partial(url: str, encoding: str, expected: bytes, label: str) -> list[Result]:
    """HEAD sends no body and the variant's length; Range gets its first bytes.

    A server may ignore Range (RFC 9110 14.2; nginx gzip_static does): a 200
    with the whole variant passes too.
    """
    head = fetch(url, "HEAD", {"Accept-Encoding": encoding})
    ranged = fetch(url, headers={"Accept-Encoding": encoding, "Range": "bytes=0-9"})
    return [Result(head.status == 200 and not head.body
                   and head.header("Content-Length") == str(len(expected)),
                   f"{label} HEAD",
                   f"{head.status}, Content-Length {head.header('Content-Length')}"),
            Result((ranged.status, ranged.body) in ((206, expected[:10]), (200, expected)),
                   f"{label} Range bytes=0-9", f"{ranged.status}, {len(ranged.body)} bytes")]


def check_negotiation(url: str, entry: dict) -> list[Result]:
    """q=0 refuses every twin; a name without twins is never compressed on the fly."""
    refuse = ", ".join(f"{encoding};q=0" for encoding in sorted(entry.get("encodings", {})))
    what = f"({refuse}) refused" if refuse else "(no twin) not compressed on the fly"
    got = fetch(url, headers={"Accept-Encoding": refuse or "gzip, deflate, br"})
    return [Result(got.status == 200 and not got.header("Content-Encoding"),
                   f"{entry['path']} {what}", repr(got.header("Content-Encoding")))]


def check_type(got: Response, path: str, utf8: bool, label: str) -> Result:
    """The table's type, saying charset=utf-8 exactly when the bytes are UTF-8
    text: a text file that is not (copied unchanged) must not be announced as
    UTF-8 -- stale rules, made before a build found it, fail here."""
    header = got.header("Content-Type")
    media, _, params = header.partition(";")
    charset = re.search(r"charset\s*=\s*\"?([^\s;\"]+)", params, re.IGNORECASE)
    says_utf8 = charset is not None and charset.group(1).lower() in ("utf-8", "utf8")
    agrees = media.strip().lower() == content_type(path) and says_utf8 == (utf8 and is_text(path))
    return Result(agrees, f"{label} Content-Type",
                  f"{header!r}, expected {content_type_header(path, utf8)!r}")


def check_short_cached(url: str, path: str, utf8: bool = True) -> list[Result]:
    """A plain name: short caching, and the type its bytes call for."""
    got = fetch(url)
    return [Result(got.status == 200 and not _is_immutable(got), f"{url} short-cached",
                   f"{got.status}, Cache-Control {got.header('Cache-Control')!r}"),
            check_type(got, path, utf8, url)]


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
    found = VERSIONED_NAME_RE.search(path)
    assert found, path  # pick_assets takes manifest paths: versioned by construction
    start = found.start()
    return path[:start] + re.sub(r"^\.v[0-9a-f]+", lambda m: ".v" + "0" * (len(m.group()) - 2),
                                 path[start:])
