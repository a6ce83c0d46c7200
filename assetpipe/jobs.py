"""One unit of build work, run in a pool worker: read, transform, version, write.

Workers write the versioned file and its twins themselves (atomically), so
only small metadata crosses the process boundary.
"""
from __future__ import annotations

import base64
import hashlib
import os
import posixpath
import threading
import time
from dataclasses import dataclass, field
from functools import partial

from assetpipe import compress, naming, versioning
from assetpipe.cache import Results, brotli_key, cache_folder, gzip_key, png_key, source_tag
from assetpipe.errors import BuildError
from assetpipe.media_types import is_compressible, is_text, is_utf8
from assetpipe.policy import BROTLI, Twin, is_prehashed
from assetpipe.transforms import (
    Settings,
    makes_map,
    optimizes_png,
    transform_bundle,
    transform_file,
)
from assetpipe.writer import VersionConflict, write_immutable


@dataclass(frozen=True)
class Job:
    logical_path: str
    inputs: tuple[tuple[str, str], ...]   # (logical path, absolute path), in order
    is_bundle: bool = False
    mtime_ns: int = 0                     # newest input mtime, for the "mtime" strategy
    deps: tuple[tuple[str, str], ...] = ()  # referenced logical path -> its versioned path
    previous: dict | None = None          # last build's Built record, reused if inputs match
    commit: str | None = None             # "git" strategy: the commit it is versioned by
    versioned_path: str | None = None     # set for an import cycle's member (modules.py)


@dataclass
class Built:
    logical_path: str
    versioned_path: str
    size: int
    integrity: str
    input_hash: str
    input_size: int
    encodings: dict[str, str] = field(default_factory=dict)     # "gzip" -> twin path
    encoded_sizes: dict[str, int] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    bundle: bool = False
    prehashed: bool = False   # named by a bundler already: kept as it is (policy.is_prehashed)
    sourcemap: str = ""       # versioned path of its source map ([sourcemaps])
    # A text type whose bytes are not UTF-8 (copied unchanged): servers and
    # sync must not announce charset=utf-8 (media_types.content_type_header).
    not_utf8: bool = False
    written: bool = False
    # This run's cache traffic (keys), for the report and the push; not kept.
    cache_hits: list[str] = field(default_factory=list)
    cache_computed: list[str] = field(default_factory=list)
    cache_rejected: list[str] = field(default_factory=list)
    cache_tag: str = ""

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in TRANSIENT}


TRANSIENT = {"written", "cache_hits", "cache_computed", "cache_rejected", "cache_tag"}


def exit_with_build(build_pid: int) -> None:
    """Pool initializer: a kill -9 of the build gives it no chance to stop its
    workers, which would go on writing into an output it no longer locks."""
    def watch() -> None:
        while True:
            time.sleep(0.5)
            try:
                os.kill(build_pid, 0)
            except ProcessLookupError:
                os._exit(1)
    threading.Thread(target=watch, daemon=True, name="exit-with-build").start()


def run_batch(batch: list[Job], settings: Settings, output: str, state_dir: str) -> list[Built]:
    return [run_job(job, settings, output, state_dir) for job in batch]


def run_job(job: Job, settings: Settings, output: str, state_dir: str) -> Built:
    datas = [_read(path, logical) for logical, path in job.inputs]
    input_hash = _input_hash(job, datas)
    prev = job.previous
    if prev and prev["input_hash"] == input_hash and outputs_exist(prev, output):
        return Built(**prev)
    results = Results(cache_folder(state_dir),
                      source_tag(hashlib.sha256(data).digest() for data in datas))
    prehashed = not job.is_bundle and is_prehashed(job.logical_path,
                                                   settings.versioning.prehashed)
    pieces: list | None = ([] if makes_map(job.logical_path, job.is_bundle, settings)
                           and not prehashed else None)
    warnings: list[str]
    if prehashed:  # the bundler's bytes and name: its own imports refer to that name
        content, warnings = datas[0], []
    else:
        content, warnings = _transform(job, datas, settings, results, pieces)
    map_path = ""
    if pieces:
        content, map_path, map_warnings = _with_sourcemap(job, content, pieces, settings, output)
        warnings = warnings + map_warnings
    if prehashed:
        versioned = job.logical_path
        written = write_immutable(os.path.join(output, versioned), content)
    else:
        versioned, written = _write_versioned(job, content, settings, output, warnings)
    built = Built(
        logical_path=job.logical_path, versioned_path=versioned, size=len(content),
        integrity="sha384-" + base64.b64encode(hashlib.sha384(content).digest()).decode(),
        input_hash=input_hash, input_size=sum(map(len, datas)),
        sources=[lg for lg, _ in job.inputs] if job.is_bundle else [],
        warnings=warnings, bundle=job.is_bundle, prehashed=prehashed, sourcemap=map_path,
        not_utf8=is_text(job.logical_path) and not is_utf8(content), written=written)
    if is_compressible(job.logical_path):
        _write_twins(built, content, settings, output, results)
    built.cache_hits, built.cache_computed = results.hits, results.computed
    built.cache_rejected, built.cache_tag = results.rejected, results.tag
    return built


def _transform(job: Job, datas: list[bytes], settings: Settings, results: Results,
               pieces: list | None) -> tuple[bytes, list[str]]:
    """The output's bytes and warnings (`pieces` collects what a source map needs)."""
    deps = dict(job.deps)
    if job.is_bundle:
        members = list(zip([lg for lg, _ in job.inputs], datas, strict=True))
        return transform_bundle(job.logical_path, members, settings, deps, results.memo,
                                pieces, results.reuse)
    if optimizes_png(job.logical_path, settings):
        return _optimized_png(job.logical_path, datas[0], settings, results)
    return transform_file(job.logical_path, datas[0], settings, deps, results.memo, pieces,
                          results.reuse)


def _with_sourcemap(job: Job, content: bytes, pieces: list, settings: Settings,
                    output: str) -> tuple[bytes, str, list[str]]:
    """Write the map as a versioned file of its own; the content with its
    sourceMappingURL comment (none when hidden), the map's path, warnings."""
    from assetpipe import sourcemap
    logical_path, text = job.logical_path, content.decode("utf-8")
    warnings: list[str] = []
    try:
        data = sourcemap.source_map(logical_path, text, pieces, dict(job.inputs), warnings,
                                    dict(job.deps))
    except sourcemap.AlignError as exc:  # never a wrong map: none, and say so
        return content, "", [f"{logical_path}: no source map: {exc}"]
    map_path = naming.versioned_name(logical_path + ".map",
                                     naming.content_version(data, settings.versioning.length))
    write_immutable(os.path.join(output, map_path), data)
    if not settings.sourcemaps.hidden:
        text += ("" if text.endswith("\n") else "\n") + sourcemap.comment(
            logical_path, posixpath.basename(map_path))
    return text.encode("utf-8"), map_path, warnings


def _optimized_png(logical_path: str, data: bytes, settings: Settings,
                   results: Results) -> tuple[bytes, list[str]]:
    """PNG recompression, the one costly transform, cached by input content,
    `strip` and the engine's version: a rerun after a killed build, a renamed
    or reverted image, or another runner's result costs a read instead of
    seconds of oxipng.  An empty payload means the input was already the best;
    a warning (a broken file) is kept with the entry and re-reported."""
    key = png_key(data, settings.images.strip)
    found = results.lookup(key)
    if found is None:
        from assetpipe.images import optimize_png
        result = optimize_png(data, settings.images.strip)
        found = (b"" if result.content == data else result.content,
                 [result.warning] if result.warning else [])
        results.store(key, *found)
    else:
        results.hits.append(key)
    payload, notes = found
    return (payload or data), [f"{logical_path}: {note}" for note in notes]


def _write_twins(built: Built, content: bytes, settings: Settings, output: str,
                 results: Results) -> None:
    for twin in compress.configured_twins(settings.compress):
        twin_path = built.versioned_path + twin.suffix
        full = os.path.join(output, twin_path)
        try:
            size = os.stat(full).st_size   # twins are immutable like their file
        except FileNotFoundError:
            packed = results.memo(_twin_key(twin, content, settings),
                                  partial(_or_empty, twin, content, settings),
                                  partial(_twin_of, twin.encoding, content))
            if not packed:
                continue
            write_immutable(full, packed)
            size = len(packed)
        built.encodings[twin.encoding] = twin_path
        built.encoded_sizes[twin.encoding] = size


def _write_versioned(job: Job, content: bytes, settings: Settings, output: str,
                     warnings: list[str]) -> tuple[str, bool]:
    """Write the versioned file; (its path, whether it was written).  When a
    strategy that does not hash the bytes ("mtime", "git") names a file that
    already holds other bytes (a same-length edit with the same mtime:
    `cp -p`, normalised tarballs), the file falls back to its content hash."""
    versioned = job.versioned_path or naming.versioned_name(
        job.logical_path, versioning.version(content, job, settings))
    try:
        return versioned, write_immutable(os.path.join(output, versioned), content)
    except VersionConflict:
        # An import cycle's names are fixed in advance (its members name each other).
        if versioning.by_content(settings.versioning.strategy) or job.versioned_path:
            raise
    warnings.append(f"{job.logical_path}: {versioned} already holds other bytes (same "
                    f"{settings.versioning.strategy} stamp, new content); "
                    "versioned by content hash")
    versioned = naming.versioned_name(
        job.logical_path, naming.content_version(content, settings.versioning.length))
    return versioned, write_immutable(os.path.join(output, versioned), content)


def _twin_key(twin: Twin, content: bytes, settings: Settings) -> str:
    """A twin's cache key: its content and the one setting that shapes it."""
    if twin == BROTLI:
        quality = compress.brotli_quality_for(
            len(content), settings.compress.brotli_quality,
            settings.compress.brotli_large_quality)
        return brotli_key(content, quality)
    return gzip_key(content, settings.compress.gzip_level)


def _or_empty(twin: Twin, content: bytes, settings: Settings) -> bytes:
    """A twin as a cache payload: empty when there is none (too little saved)."""
    return compress.make_twin(twin, content, settings.compress) or b""


def _twin_of(encoding: str, content: bytes, packed: bytes) -> bool:
    """A cached twin is used only if it decompresses to this very content,
    whoever computed it."""
    return not packed or compress.expand(encoding, packed) == content


def _input_hash(job: Job, datas: list[bytes]) -> str:
    h = hashlib.sha256(repr((job.deps, job.commit)).encode())
    for (logical, _), data in zip(job.inputs, datas, strict=True):
        h.update(f"{logical}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def outputs_exist(prev: dict, output: str) -> bool:
    paths = [prev["versioned_path"], *prev["encodings"].values()]
    paths += [prev["sourcemap"]] if prev.get("sourcemap") else []
    return all(os.path.exists(os.path.join(output, p)) for p in paths)


def _read(path: str, logical: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise BuildError(f"cannot read file: {exc.strerror}", logical) from None
