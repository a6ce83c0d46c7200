"""The settings the adapter reads, and one Manifest (and helper set) per path."""
from __future__ import annotations

import functools
import os

from django.conf import settings

from assetpipe.contrib import ManifestUnavailable, open_manifest
from assetpipe.jinja import AssetHelpers
from assetpipe.manifest import MANIFEST_NAME, Manifest

SETTING = "ASSETPIPE_MANIFEST"


def manifest_path() -> str:
    """ASSETPIPE_MANIFEST, else manifest.json in STATIC_ROOT (the build output)."""
    path = getattr(settings, SETTING, None)
    if path:
        return os.fspath(path)
    if settings.STATIC_ROOT:
        return os.path.join(settings.STATIC_ROOT, MANIFEST_NAME)
    raise ManifestUnavailable(f"{SETTING}: not set, and there is no STATIC_ROOT to find "
                              f"{MANIFEST_NAME} in; set STATIC_ROOT to the build output")


def get_manifest() -> Manifest:
    """The manifest, re-read after a new build (one stat per call)."""
    manifest = _load(manifest_path())
    manifest.reload_if_changed()
    return manifest


def helpers() -> AssetHelpers:
    """The Jinja helpers' tag builder (one implementation for both engines)."""
    return _helpers(manifest_path(), getattr(settings, "ASSETPIPE_DEV", None))


@functools.lru_cache(maxsize=8)
def _load(path: str) -> Manifest:
    return open_manifest(path, SETTING)   # a failure is not cached: the next call retries


@functools.lru_cache(maxsize=8)
def _helpers(path: str, dev: bool | None) -> AssetHelpers:
    return AssetHelpers(_load(path), dev)
