"""One unit of build work, run in a pool worker: read, transform, version, write.

Workers write the versioned file and its twins themselves (atomically), so
only small metadata crosses the process boundary.
"""
from __future__ import annotations

import base64
import hashlib
import os
import threading
import time
from dataclasses import dataclass, field

from assetpipe import compress, naming, versioning
from assetpipe.errors import BuildError
from assetpipe.media_types import is_compressible
from assetpipe.transforms import Settings, optimizes_png, transform_bundle, transform_file
from assetpipe.writer import VersionConflict, write_atomic, write_immutable


@dataclass(frozen=True)
class Job:
    logical_path: str
    inputs: tuple[tuple[str, str], ...]   # (logical path, absolute path), in order
    is_bundle: bool = False
    mtime_ns: int = 0                     # newest input mtime, for the "mtime" strategy
    deps: tuple[tuple[str, str], ...] = ()  # referenced logical path -> its versioned path
    previous: dict | None = None          # last build's Built record, reused if inputs match
    commit: str | None = None             # "git" strategy: the commit it is versioned by


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
    written: bool = False

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "written"}


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
    deps = dict(job.deps)
    if job.is_bundle:
        members = list(zip([lg for lg, _ in job.inputs], datas, strict=True))
        content = transform_bundle(job.logical_path, members, settings, deps)
        warnings: list[str] = []
    elif optimizes_png(job.logical_path, settings):
        content, warnings = _optimized_png(job.logical_path, datas[0], settings, state_dir)
    else:
        content, warnings = transform_file(job.logical_path, datas[0], settings, deps)
    versioned, written = _write_versioned(job, content, settings, output, warnings)
    built = Built(
        logical_path=job.logical_path, versioned_path=versioned, size=len(content),
        integrity="sha384-" + base64.b64encode(hashlib.sha384(content).digest()).decode(),
        input_hash=input_hash, input_size=sum(map(len, datas)),
        sources=[lg for lg, _ in job.inputs] if job.is_bundle else [],
        warnings=warnings, bundle=job.is_bundle, written=written)
    if is_compressible(job.logical_path):
        _write_twins(built, content, settings, output)
    return built


def _optimized_png(logical_path: str, data: bytes, settings: Settings,
                   state_dir: str) -> tuple[bytes, list[str]]:
    """PNG recompression, the one costly transform, cached by input content +
    settings under <state folder>/png/: a rerun after a killed build, a renamed
    or reverted image, costs a read instead of seconds of oxipng."""
    key = hashlib.sha256(data + settings.key().encode()).hexdigest()
    cached = os.path.join(state_dir, "png", key[:2], key)
    try:
        with open(cached, "rb") as f:
            stored = f.read()
        return (stored or data), []   # empty: the input was already the best
    except FileNotFoundError:
        pass
    content, warnings = transform_file(logical_path, data, settings, {})
    if not warnings:  # a warned-about file is re-examined (and re-reported) each time
        write_atomic(cached, b"" if content == data else content)
    return content, warnings


def _write_twins(built: Built, content: bytes, settings: Settings, output: str) -> None:
    for twin in compress.configured_twins(settings.compress):
        twin_path = built.versioned_path + twin.suffix
        full = os.path.join(output, twin_path)
        try:
            size = os.stat(full).st_size   # twins are immutable like their file
        except FileNotFoundError:
            packed = compress.make_twin(twin, content, settings.compress)
            if packed is None:
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
    versioned = naming.versioned_name(job.logical_path,
                                      versioning.version(content, job, settings))
    try:
        return versioned, write_immutable(os.path.join(output, versioned), content)
    except VersionConflict:
        if versioning.by_content(settings.versioning.strategy):
            raise
    warnings.append(f"{job.logical_path}: {versioned} already holds other bytes (same "
                    f"{settings.versioning.strategy} stamp, new content); "
                    "versioned by content hash")
    versioned = naming.versioned_name(
        job.logical_path, naming.content_version(content, settings.versioning.length))
    return versioned, write_immutable(os.path.join(output, versioned), content)



def _input_hash(job: Job, datas: list[bytes]) -> str:
    h = hashlib.sha256(repr((job.deps, job.commit)).encode())
    for (logical, _), data in zip(job.inputs, datas, strict=True):
        h.update(f"{logical}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def outputs_exist(prev: dict, output: str) -> bool:
    paths = [prev["versioned_path"], *prev["encodings"].values()]
    return all(os.path.exists(os.path.join(output, p)) for p in paths)


def _read(path: str, logical: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise BuildError(f"cannot read file: {exc.strerror}", logical) from None
