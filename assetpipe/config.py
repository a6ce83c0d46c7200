"""Configuration: read once from TOML into frozen dataclasses, validated.

Lookup order (the contract): --config FILE, else ./assetpipe.toml, else
[tool.assetpipe] in ./pyproject.toml.  Relative paths are relative to the
config file's folder.  Unknown keys are an error naming the key, with a
"did you mean" when one is close.
"""
from __future__ import annotations

import dataclasses
import difflib
import os
import tomllib
from dataclasses import dataclass, field

from assetpipe.errors import UsageError


@dataclass(frozen=True)
class Bundle:
    name: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class Versioning:
    strategy: str = "hash"
    length: int = 10
    keep_unversioned: bool = True


@dataclass(frozen=True)
class Minify:
    js: bool = True
    css: bool = True


@dataclass(frozen=True)
class Compress:
    gzip: bool = True
    gzip_suffix: str = ".gzip"
    brotli: bool = False
    # zlib level for twins: 9 is what WhiteNoise and gzip_static users expect.
    gzip_level: int = 9
    # Brotli quality: 11 is the smallest and ~30x slower than 9 on large JS;
    # twins are built once per content hash (cached), so default to the best.
    brotli_quality: int = 11


@dataclass(frozen=True)
class Images:
    png: str = "lossless"
    strip: str = "safe"


@dataclass(frozen=True)
class Sync:
    # Cache-Control max-age for names that can change (pages, plain copies,
    # manifest.json); versioned names are always cached for a year, immutable.
    short_max_age: int = 300
    # Upload gzip bytes under the plain key (Content-Encoding: gzip) for CDNs
    # that cannot pick a twin by Accept-Encoding; see docs/sync.md.
    gzip_in_place: bool = False
    # botocore "standard" retry mode: attempts per request, first one included.
    max_attempts: int = 5


@dataclass(frozen=True)
class Config:
    config_path: str                    # absolute path of the file it came from
    source: str                         # absolute
    output: str                         # absolute
    url_prefix: str = "/static/"
    bundles: tuple[Bundle, ...] = ()
    versioning: Versioning = field(default_factory=Versioning)
    minify: Minify = field(default_factory=Minify)
    compress: Compress = field(default_factory=Compress)
    images: Images = field(default_factory=Images)
    sync: Sync = field(default_factory=Sync)

    @property
    def root(self) -> str:
        return os.path.dirname(self.config_path)


SECTIONS = {"versioning": Versioning, "minify": Minify, "compress": Compress, "images": Images,
            "sync": Sync}
TOP_LEVEL = {"source", "output", "url_prefix", "bundle", *SECTIONS}
CHOICES = {
    "versioning.strategy": ("hash", "git", "mtime"),
    "images.png": ("lossless", "off"),
    "images.strip": ("safe", "none"),
}
RANGES = {"versioning.length": (8, 32), "compress.gzip_level": (1, 9),
          "compress.brotli_quality": (0, 11), "sync.short_max_age": (0, 31536000),
          "sync.max_attempts": (1, 20)}


def find_config(explicit: str | None, cwd: str | None = None) -> tuple[str, dict]:
    """Return (path, raw table) following the contract's lookup order."""
    cwd = cwd or os.getcwd()
    if explicit:
        path = os.path.abspath(explicit)
        if not os.path.isfile(path):
            raise UsageError(f"config file {explicit} does not exist")
        table = _read_toml(path)
        if os.path.basename(path) == "pyproject.toml":
            return path, _tool_section(path, table)
        return path, table
    candidate = os.path.join(cwd, "assetpipe.toml")
    if os.path.isfile(candidate):
        return candidate, _read_toml(candidate)
    candidate = os.path.join(cwd, "pyproject.toml")
    if os.path.isfile(candidate):
        return candidate, _tool_section(candidate, _read_toml(candidate))
    raise UsageError("no config: pass --config FILE, or create assetpipe.toml "
                     "(or [tool.assetpipe] in pyproject.toml) in this folder")


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
    if output == source or output.startswith(source + os.sep):
        raise UsageError(f"output: {table['output']!r} is inside source {table['source']!r}; "
                         "choose an output folder outside the source folder")
    if source.startswith(output + os.sep):
        raise UsageError(f"source: {table['source']!r} is inside output {table['output']!r}")
    url_prefix = table.get("url_prefix", "/static/")
    _check_type("url_prefix", url_prefix, str)
    sections = {name: _parse_section(name, cls, table.get(name, {}))
                for name, cls in SECTIONS.items()}
    return Config(config_path=os.path.abspath(config_path), source=source, output=output,
                  url_prefix=url_prefix, bundles=_parse_bundles(table.get("bundle", [])),
                  **sections)


def _parse_bundles(raw) -> tuple[Bundle, ...]:
    if not isinstance(raw, list):
        raise UsageError("bundle: must be an array of tables ([[bundle]])")
    bundles, seen = [], set()
    for i, item in enumerate(raw):
        where = f"bundle[{i}]"
        if not isinstance(item, dict):
            raise UsageError(f"{where}: must be a table with 'name' and 'files'")
        _reject_unknown(item, {"name", "files"}, where + ".")
        for key in ("name", "files"):
            if key not in item:
                raise UsageError(f"{where}.{key}: missing")
        _check_type(f"{where}.name", item["name"], str)
        files = item["files"]
        if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
            raise UsageError(f"{where}.files: must be a non-empty list of paths or globs")
        name = item["name"].strip("/")
        if name in seen:
            raise UsageError(f"{where}.name: bundle {name!r} is declared twice")
        seen.add(name)
        bundles.append(Bundle(name=name, files=tuple(files)))
    return tuple(bundles)


def _parse_section(name: str, cls, raw) -> object:
    if not isinstance(raw, dict):
        raise UsageError(f"{name}: must be a table ([{name}])")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    _reject_unknown(raw, fields, name + ".")
    for key, value in raw.items():
        dotted = f"{name}.{key}"
        _check_type(dotted, value, type(fields[key].default))
        if dotted in CHOICES and value not in CHOICES[dotted]:
            raise UsageError(f"{dotted}: {value!r} is not one of {', '.join(CHOICES[dotted])}")
        if dotted in RANGES and not RANGES[dotted][0] <= value <= RANGES[dotted][1]:
            low, high = RANGES[dotted]
            raise UsageError(f"{dotted}: {value} is outside {low}..{high}")
    if name == "compress" and "gzip_suffix" in raw and not raw["gzip_suffix"].startswith("."):
        raise UsageError("compress.gzip_suffix: must start with a dot, e.g. \".gz\"")
    return cls(**raw)


def _check_type(key: str, value, expected: type) -> None:
    # bool is an int subclass: `length = true` must not pass as 1.
    if type(value) is not expected:
        raise UsageError(f"{key}: expected {expected.__name__}, got {type(value).__name__} {value!r}")


def _reject_unknown(table: dict, known, prefix: str) -> None:
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f" (did you mean '{prefix}{close[0]}'?)" if close else ""
            raise UsageError(f"unknown config key '{prefix}{key}'{hint}")


def _read_toml(path: str) -> dict:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: invalid TOML: {exc}") from None


def _tool_section(path: str, table: dict) -> dict:
    try:
        return table["tool"]["assetpipe"]
    except KeyError:
        raise UsageError(f"{path}: no [tool.assetpipe] section") from None
