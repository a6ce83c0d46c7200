"""The local side of a sync: a snapshot of the output folder, manifest first.

Which names are immutable, what each file is served with, and which files
a manifest that is not ours must not be trusted for: decided here from the
build's own records, so `assetpipe.sync` only plans and acts.
"""
from __future__ import annotations

import hashlib
import json
import os

from assetpipe import history
from assetpipe.config import Sync
from assetpipe.errors import BuildError
from assetpipe.history import manifest_paths
from assetpipe.manifest import MANIFEST_NAME, manifest_problem
from assetpipe.policy import is_versioned
from assetpipe.sync_plan import LocalFile, describe, object_meta, prehashed_keys, twin_suffixes


def scan_output(root: str, settings: Sync, pruning: bool = False, state_dir: str | None = None
                ) -> tuple[bytes | None, dict | None, list[LocalFile]]:
    """Snapshot the output folder: the manifest (bytes, parsed) first, then every file.

    The build writes the manifest last, so everything the snapshot names was
    already on disk when the walk starts.  Dot-named files and folders
    (`.assetpipe/`, temp files) are never part of a sync.  A `manifest.json`
    that is not an assetpipe manifest (a plain folder's web-app manifest) is
    synced as an ordinary file, and refused when `pruning`: prune must never
    decide what is live from a file that is not ours.  `state_dir` is the
    build's state folder (its manifest history), when a config names it.
    """
    if not os.path.isdir(root):
        raise BuildError("source folder does not exist (run `assetpipe build` first)", root)
    manifest_bytes, manifest = _read_manifest(root, pruning)
    keys = [k for k in _walk(root) if k != MANIFEST_NAME or manifest is None]
    made = _versioned_by_build(state_dir, manifest, keys)
    local, prehashed = [], prehashed_keys(manifest)
    for key, body, type_path, encoding in describe(keys, twin_suffixes(manifest),
                                                   settings.gzip_in_place):
        path = os.path.join(root, *body.split("/"))
        lookalike = made is not None and is_versioned(key) and key not in made
        immutable = key in prehashed
        meta = object_meta(key, type_path, encoding, settings.short_max_age, lookalike,
                           immutable)
        sha = None if immutable or (is_versioned(key) and not lookalike) else _file_sha256(path)
        text = (os.path.join(root, *type_path.split("/"))
                if "charset=" in meta.content_type else None)
        local.append(LocalFile(key, path, os.path.getsize(path), sha, meta, text_path=text,
                               lookalike=lookalike, prehashed=immutable))
    if manifest_bytes is not None:
        local.append(LocalFile(MANIFEST_NAME, os.path.join(root, MANIFEST_NAME),
                               len(manifest_bytes), hashlib.sha256(manifest_bytes).hexdigest(),
                               object_meta(MANIFEST_NAME, MANIFEST_NAME, None,
                                           settings.short_max_age), manifest_bytes))
    return manifest_bytes, manifest, local


def _versioned_by_build(state_dir: str | None, manifest: dict | None,
                        keys: list[str]) -> set[str] | None:
    """The versioned names the build wrote, where it can tell: the manifest's,
    and (only if some name is not among them) every history entry's.  None
    without a manifest or a state folder (`sync --source` alone): the name
    pattern is then all there is.  A name that matches the pattern but no
    build wrote (a file copied in by hand) is synced as a plain name:
    compared by content, short-cached, never pruned."""
    if manifest is None or state_dir is None:
        return None
    made = manifest_paths(manifest, plain=False)
    if any(is_versioned(k) and k not in made for k in keys):
        for entry in history.entries(state_dir):
            made |= entry.paths
    return made


def _read_manifest(root: str, pruning: bool) -> tuple[bytes | None, dict | None]:
    path = os.path.join(root, MANIFEST_NAME)
    try:
        with open(path, "rb") as f:
            manifest_bytes = f.read()
    except FileNotFoundError:
        return None, None
    try:
        problem = manifest_problem(json.loads(manifest_bytes))
    except ValueError as exc:
        problem = f"not valid JSON: {exc}"
    if problem is None:
        return manifest_bytes, json.loads(manifest_bytes)
    if pruning:
        raise BuildError(f"not an assetpipe manifest ({problem}); refusing to prune by it "
                         "(rebuild, or sync without --prune)", path)
    return None, None


def _walk(root: str) -> list[str]:
    keys: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel = os.path.relpath(folder, root).replace(os.sep, "/")
        keys.extend(name if rel == "." else f"{rel}/{name}"
                    for name in sorted(files) if not name.startswith("."))
    return keys


def _file_sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
