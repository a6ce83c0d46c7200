"""Configuration: read once from TOML into frozen dataclasses, validated.

Lookup order (the contract): --config FILE, else ./assetpipe.toml, else
[tool.assetpipe] in ./pyproject.toml.  Relative paths are relative to the
config file's folder.  Unknown keys are an error naming the key, with a
"did you mean" when one is close.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

from assetpipe.budgets import Budget, parse_budgets
from assetpipe.config_bundles import Bundle, parse_bundles
from assetpipe.config_checks import check_type as _check_type
from assetpipe.config_checks import check_value as _check_value
from assetpipe.config_checks import choice, is_inside, within
from assetpipe.config_checks import reject_unknown as _reject_unknown
from assetpipe.config_lookup import find_config
from assetpipe.config_pages import Pages, parse_pages
from assetpipe.config_strings import check_strings, glob_list, parse_importmap
from assetpipe.errors import UsageError
from assetpipe.policy import (
    CORS_AUTO,
    DEFAULT_SHORT_MAX_AGE,
    GZIP_SUFFIXES,
    IMMUTABLE_MAX_AGE,
)
from assetpipe.statedir import resolve_state_dir
from assetpipe.versioning import STRATEGIES


@dataclass(frozen=True)
class Versioning:
    strategy: str = choice("hash", STRATEGIES)
    length: int = within(10, 8, 32)
    keep_unversioned: bool = True
    # Globs of files a bundler already content-hashed: names kept, cached as
    # immutable (policy.is_prehashed); docs/output.md.
    prehashed: tuple[str, ...] = ()
    # A Vite manifest (absolute once parsed): its entries become logical names.
    vite_manifest: str = ""


@dataclass(frozen=True)
class Minify:
    js: bool = True
    css: bool = True


@dataclass(frozen=True)
class Compress:
    gzip: bool = True
    # Only suffixes policy.VERSIONED_NAME_RE knows, so twins are cached by name too.
    gzip_suffix: str = choice(".gzip", GZIP_SUFFIXES)
    brotli: bool = False
    # zlib level for twins: 9 is what WhiteNoise and gzip_static users expect.
    gzip_level: int = within(9, 1, 9)
    # Brotli quality 11 costs ~10x quality 9's time for ~5% fewer bytes; on
    # files over BROTLI_LARGE_BYTES (a few big bundles, most of the bytes) that
    # turns a 5 s build into 30 s, so large files default to 9 (measured on the
    # public corpus: 5.36 MB vs 5.03 MB of twins, 10 s vs 39 s of CPU).
    brotli_quality: int = within(11, 0, 11)
    brotli_large_quality: int = within(9, 0, 11)


@dataclass(frozen=True)
class Images:
    png: str = choice("lossless", ("lossless", "off"))
    strip: str = choice("safe", ("safe", "none"))


@dataclass(frozen=True)
class Sourcemaps:
    """A Source Map v3 for every minified CSS/JS file and CSS/JS bundle (docs/output.md)."""
    enabled: bool = False
    hidden: bool = False   # write the maps but no sourceMappingURL comment (error trackers)


@dataclass(frozen=True)
class References:
    missing: str = choice("error", ("error", "warn"))   # url()/@import target not found
    # sourceMappingURL target not found: the comment is dropped
    missing_sourcemap: str = choice("warn", ("error", "warn"))
    # "/static/x.png": "leave" or "resolve" against url_prefix
    root_relative: str = choice("leave", ("leave", "resolve"))
    modules: bool = True              # JS import specifiers / script URLs (docs/modules.md)


@dataclass(frozen=True)
class Apache:
    # Unversioned names, pages and manifest.json: seconds a cache may reuse
    # them without asking (0 = revalidate every time).
    short_max_age: int = within(DEFAULT_SHORT_MAX_AGE, 0, IMMUTABLE_MAX_AGE)
    # Where requests for pages without a static file go: a URL path handled
    # elsewhere on the server ("/dynamic_handler/") or a backend URL
    # ("http://127.0.0.1:8000/", proxied); "" = plain 404.
    fallback: str = ""


@dataclass(frozen=True)
class Serve:
    # Access-Control-Allow-Origin on versioned names and fonts, in every
    # server's rules and (with `sync --cors`) the bucket: "auto" = "*" when
    # url_prefix names another origin (a CDN), none for same-origin; "off";
    # "*"; or one origin ("https://www.example.com").
    cors: str = CORS_AUTO


@dataclass(frozen=True)
class Nginx:
    # The generated file is http-level (maps + one server block): where that
    # server listens and which names it answers.
    listen: str = "80"
    server_name: str = "_"
    # A file of the app's own locations, included in that server block: with
    # it, `[apache] fallback` may be a path ("/dynamic_handler/") one of them
    # handles, as on Apache.
    include: str = ""


@dataclass(frozen=True)
class Sync:
    # Cache-Control max-age for names that can change (pages, plain copies,
    # manifest.json); versioned names are always cached for a year, immutable.
    short_max_age: int = within(DEFAULT_SHORT_MAX_AGE, 0, IMMUTABLE_MAX_AGE)
    # Upload gzip bytes under the plain key (Content-Encoding: gzip) for CDNs
    # that cannot pick a twin by Accept-Encoding; see docs/sync.md.
    gzip_in_place: bool = False
    # botocore "standard" retry mode: attempts per request, first one included.
    max_attempts: int = within(5, 1, 20)
    # s3:// only: where the sync index and manifest history go in the bucket;
    # "" = beside the public prefix (`.assetpipe/<prefix>`), never under it.
    state_prefix: str = ""


@dataclass(frozen=True)
class Cache:
    # Shared store of expensive results (docs/cache.md): "s3://bucket/prefix";
    # "" = the local cache only.  Credentials come from boto3's usual chain.
    remote: str = ""
    endpoint_url: str = ""          # an S3-compatible endpoint; "" = AWS
    timeout: int = within(2, 1, 60)  # seconds per request (connect, and each read)
    # Seconds the fetch before the build, and the push after it, may go
    # without a request succeeding: a store that stops answering costs at
    # most this (per phase), then the build goes on without it.
    budget: int = within(5, 1, 600)
    push_jobs: int = within(4, 1, 64)  # concurrent uploads


@dataclass(frozen=True)
class Config:
    config_path: str                    # absolute path of the file it came from
    source: str                         # absolute
    output: str                         # absolute
    state_dir: str                      # absolute, outside output: statedir.resolve_state_dir
    url_prefix: str = "/static/"
    bundles: tuple[Bundle, ...] = ()
    versioning: Versioning = field(default_factory=Versioning)
    minify: Minify = field(default_factory=Minify)
    compress: Compress = field(default_factory=Compress)
    images: Images = field(default_factory=Images)
    sourcemaps: Sourcemaps = field(default_factory=Sourcemaps)
    references: References = field(default_factory=References)
    apache: Apache = field(default_factory=Apache)
    serve: Serve = field(default_factory=Serve)
    nginx: Nginx = field(default_factory=Nginx)
    pages: Pages | None = None      # None when there is no [pages] section
    sync: Sync = field(default_factory=Sync)
    cache: Cache = field(default_factory=Cache)
    # [importmap]: bare specifier -> logical name, sorted (docs/modules.md).
    importmap: tuple[tuple[str, str], ...] = ()
    budgets: tuple[Budget, ...] = ()  # [budgets]: checked before publishing (budgets.py)

    @property
    def root(self) -> str:
        return os.path.dirname(self.config_path)

    @property
    def url_path(self) -> str:
        """The path part of url_prefix, with one leading and one trailing slash:
        a CDN origin "https://cdn.example.com/static/" is served at "/static/"."""
        from urllib.parse import urlsplit
        path = urlsplit(self.url_prefix).path.strip("/")
        return f"/{path}/" if path else "/"


SECTIONS = {"versioning": Versioning, "minify": Minify, "compress": Compress, "images": Images,
            "sourcemaps": Sourcemaps,
            "references": References, "apache": Apache, "serve": Serve, "nginx": Nginx,
            "sync": Sync, "cache": Cache}
TOP_LEVEL = {"source", "output", "state_dir", "url_prefix", "bundle", "pages", "importmap",
             "budgets",
             *SECTIONS}


def load_config(explicit: str | None = None, cwd: str | None = None) -> Config:
    path, table = find_config(explicit, cwd)
    return parse_config(table, path)


def parse_config(table: dict, config_path: str) -> Config:
    _reject_unknown(table, TOP_LEVEL, "")
    root = os.path.dirname(os.path.abspath(config_path))
    for key in ("source", "output"):
        if key not in table:
            raise UsageError(f"{config_path}: missing required key '{key}'")
        _check_type(key, table[key], str)
    source = os.path.normpath(os.path.join(root, table["source"]))
    output = os.path.normpath(os.path.join(root, table["output"]))
    if is_inside(output, source):
        raise UsageError(f"output: {table['output']!r} is inside source {table['source']!r}; "
                         "choose an output folder outside the source folder")
    if is_inside(source, output):
        raise UsageError(f"output: {table['output']!r} contains source {table['source']!r}; "
                         "choose an output folder of its own (never the file system root)")
    state_dir = resolve_state_dir(table.get("state_dir"), root, source, output)
    url_prefix = _url_prefix(table.get("url_prefix", "/static/"))
    sections = {name: _parse_section(name, cls, table.get(name, {}))
                for name, cls in SECTIONS.items()}
    pages = parse_pages(table["pages"], root, source, output) if "pages" in table else None
    versioning = sections["versioning"]
    if isinstance(versioning, Versioning) and versioning.vite_manifest:
        sections["versioning"] = dataclasses.replace(versioning, vite_manifest=os.path.normpath(
            os.path.join(root, versioning.vite_manifest)))
    nginx = sections["nginx"]
    if isinstance(nginx, Nginx) and nginx.include:  # relative to the config file, like every path
        sections["nginx"] = dataclasses.replace(
            nginx, include=os.path.normpath(os.path.join(root, nginx.include)))
    compress = sections["compress"]
    assert isinstance(compress, Compress)
    budgets = parse_budgets(table.get("budgets", {}), compress.gzip, compress.brotli)
    return Config(config_path=os.path.abspath(config_path), source=source, output=output,
                  state_dir=state_dir, url_prefix=url_prefix,
                  bundles=parse_bundles(table.get("bundle", [])), pages=pages,
                  importmap=parse_importmap(table.get("importmap", {})),
                  budgets=budgets, **sections)


def _url_prefix(value) -> str:
    """What Manifest.url() prepends: an absolute path or URL ending in "/"
    ("/static" would give "/staticcss/x.css"; "" or "static/" relative URLs
    that break on every page below the root)."""
    _check_type("url_prefix", value, str)
    if not value.startswith(("/", "http://", "https://")):
        raise UsageError(f"url_prefix: {value!r} must start with \"/\", \"//\", \"http://\" or "
                         "\"https://\" (relative URLs break on pages below the root)")
    return value if value.endswith("/") else value + "/"


def _parse_section(name: str, cls, raw) -> Any:
    if not isinstance(raw, dict):
        raise UsageError(f"{name}: must be a table ([{name}])")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    _reject_unknown(raw, fields, name + ".")
    if name == "versioning" and "prehashed" in raw:
        raw = dict(raw, prehashed=glob_list("versioning.prehashed", raw["prehashed"]))
    for key, value in raw.items():
        dotted = f"{name}.{key}"
        _check_type(dotted, value, type(fields[key].default))
        _check_value(dotted, value, fields[key].metadata)
    check_strings(name, raw)
    return cls(**raw)

