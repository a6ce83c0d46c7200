"""Runtime reader for manifest.json — standard library only.

Apps import this at request time, so it must not pull in the build stack.

manifest.json (manifest_version 1)::

    {
      "manifest_version": 1,
      "created": "2026-11-27T05:00:00Z",            # UTC, when the assets last changed
      "url_prefix": "/static/",                      # prepended by url()
      "build": {"git_commit": null, "git_dirty": false},
      "assets": {                                    # logical name -> entry
        "js/site.js": {
          "path": "js/site.v1a2b3c4d5e.js",          # relative to the output folder
          "size": 48211,                             # bytes of `path`
          "integrity": "sha384-...",                 # SRI of `path`
          "encodings": {"gzip": "js/site.v1a2b3c4d5e.js.gzip"},
          "sources": ["js/vendor/jquery.js", "js/app/main.js"]   # bundles only
        },
        "css/legacy.css": {..., "not_utf8": true},    # text whose bytes are not UTF-8
        "js/app.mjs": {..., "imports": ["js/util.mjs"]}   # ES modules: static imports
      },
      "importmap": {"lodash": "vendor/lodash-es/lodash.js"}   # only with [importmap]
    }

Keys may be added to entries; none are removed or renamed without bumping
manifest_version.
"""
from __future__ import annotations

import json
import os
import threading
from urllib.parse import quote

from assetpipe.errors import AssetpipeError, ManifestError

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1


class AssetNotFound(AssetpipeError, KeyError):
    """A logical name the manifest does not know."""

    def __init__(self, name: str, manifest_path: str):
        self.name, self.manifest_path = name, manifest_path
        super().__init__(name)

    def __str__(self) -> str:
        return (f"asset {self.name!r} is not in {self.manifest_path} "
                f"(is it under the source folder, and was `assetpipe build` run?)")


class Manifest:
    """Maps logical names to versioned URLs; reloads itself when the file changes.

    >>> m = Manifest.load("build/static/manifest.json")
    >>> m.url("js/site.js")
    '/static/js/site.v1a2b3c4d5e.js'
    """

    def __init__(self, path: str, data: dict, stamp: tuple, url_prefix: str | None = None):
        self.path = path
        self._data, self._stamp = data, stamp
        self._prefix_override = url_prefix
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: str | os.PathLike, url_prefix: str | None = None) -> Manifest:
        """Read a manifest; `url_prefix` overrides the one recorded at build time."""
        path = os.fspath(path)
        stamp, data = _read(path)
        return cls(path, data, stamp, url_prefix)

    def reload_if_changed(self) -> bool:
        """Re-read the file if a new build replaced it (one stat() per call)."""
        try:
            stamp = _stamp(os.stat(self.path))
        except OSError:
            return False  # keep serving the last good manifest
        if stamp == self._stamp:
            return False
        with self._lock:
            if stamp != self._stamp:
                self._stamp, self._data = _read(self.path)
        return True

    @property
    def data(self) -> dict:
        return self._data

    @property
    def url_prefix(self) -> str:
        if self._prefix_override is not None:
            return self._prefix_override
        return self._data.get("url_prefix", "/")

    @property
    def assets(self) -> dict:
        return self._data["assets"]

    def __contains__(self, name: str) -> bool:
        return name in self.assets

    def entry(self, name: str) -> dict:
        try:
            return self.assets[name]
        except KeyError:
            raise AssetNotFound(name, self.path) from None

    def path_of(self, name: str) -> str:
        """Versioned path relative to the output folder."""
        return self.entry(name)["path"]

    def url(self, name: str) -> str:
        """url_prefix + the versioned path, percent-encoded ("a #1.png" -> "a%20%231.v….png").

        A query or fragment after a name the manifest knows is kept, as
        Django's {% static %} does ("fonts/x.svg#icon" -> "…x.v….svg#icon")."""
        if name not in self.assets:
            cut = min((i for i in (name.find("?"), name.find("#")) if i > 0), default=-1)
            if cut > 0 and name[:cut] in self.assets:
                return self.url(name[:cut]) + name[cut:]
        return self.url_prefix + quote(self.path_of(name), safe="/")

    def integrity(self, name: str) -> str:
        return self.entry(name)["integrity"]

    def imports(self, name: str) -> list[str]:
        """Logical names an ES module imports statically (import/export ... from)."""
        return list(self.entry(name).get("imports", []))

    @property
    def importmap(self) -> dict[str, str]:
        """[importmap]: bare specifier -> logical name."""
        return dict(self._data.get("importmap", {}))

    def sources(self, name: str) -> list[str]:
        """Bundle members (logical names); a plain file is its own only source."""
        return list(self.entry(name).get("sources", [name]))


def _stamp(st: os.stat_result) -> tuple:
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def manifest_problem(doc: object) -> str | None:
    """Why `doc` (parsed JSON) is not an assetpipe manifest this version
    reads, or None.  Every consumer that acts on a manifest (the build, clean,
    sync --prune, the app) checks this first: a PWA's web-app manifest or a
    truncated file must never be taken for one."""
    if not isinstance(doc, dict):
        return f"not a JSON object but {type(doc).__name__}"
    version = doc.get("manifest_version")
    if version != MANIFEST_VERSION:
        return (f"manifest_version {version!r} is not supported "
                f"(this assetpipe reads version {MANIFEST_VERSION})")
    assets = doc.get("assets")
    if not isinstance(assets, dict):
        return "'assets' is not an object"
    for name, entry in assets.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) \
                or not isinstance(entry.get("encodings", {}), dict):
            return f"asset {name!r} has no 'path' string"
    return None


def _read(path: str) -> tuple[tuple, dict]:
    with open(path, "rb") as f:
        stamp = _stamp(os.fstat(f.fileno()))
        try:
            data = json.loads(f.read())
        except ValueError as exc:  # bad JSON or UTF-8: a half-copied or hand-edited file
            raise ManifestError(f"{path}: not a valid manifest ({exc})") from None
    problem = manifest_problem(data)
    if problem:
        raise ManifestError(f"{path}: not an assetpipe manifest: {problem}")
    return stamp, data
