"""The [[bundle]] tables: a bundle's name is a logical path of the output,
its files globs of the source folder (expanded by sources.expand_bundle)."""
from __future__ import annotations

import posixpath
from dataclasses import dataclass

from assetpipe.config_checks import check_type, tables
from assetpipe.errors import UsageError
from assetpipe.policy import misnamed


@dataclass(frozen=True)
class Bundle:
    name: str
    files: tuple[str, ...]
    classic: bool = False   # members are classic scripts, not ES modules (docs/modules.md)


def parse_bundles(raw) -> tuple[Bundle, ...]:
    bundles, seen = [], set()
    for where, item in tables(raw, "bundle", "'name' and 'files'", {"name", "files", "classic"}):
        for key in ("name", "files"):
            if key not in item:
                raise UsageError(f"{where}.{key}: missing")
        check_type(f"{where}.name", item["name"], str)
        files = item["files"]
        if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
            raise UsageError(f"{where}.files: must be a non-empty list of paths or globs")
        name = _bundle_name(item["name"], where)
        if name in seen:
            raise UsageError(f"{where}.name: bundle {name!r} is declared twice")
        seen.add(name)
        classic = item.get("classic", False)
        check_type(f"{where}.classic", classic, bool)
        bundles.append(Bundle(name=name, files=tuple(files), classic=classic))
    return tuple(bundles)


def _bundle_name(raw: str, where: str) -> str:
    """A bundle's logical path: relative, inside the output, no dot-named part
    (dot names are the tool's own state and are never served)."""
    name = posixpath.normpath(raw) if raw else ""
    parts = name.split("/")
    if (not raw or raw.endswith("/") or name.startswith("/") or ".." in parts
            or any(part.startswith(".") for part in parts)):
        raise UsageError(f"{where}.name: {raw!r} must be a file path inside the output folder "
                         "without '..' or dot-named parts, e.g. \"js/site.js\"")
    problem = misnamed(name)
    if problem:
        raise UsageError(f"{where}.name: {raw!r}: {problem}")
    return name
