"""`assetpipe build`: config -> sources -> jobs (pool) -> copies -> manifest.

A no-op build stats every source and reads one small fingerprint file; an
incremental one re-runs only jobs whose inputs' stat changed.  The manifest
is replaced last, and only when the assets changed.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from assetpipe import __version__, state
from assetpipe.config import Config
from assetpipe.errors import BuildError
from assetpipe.manifest import MANIFEST_NAME
from assetpipe.sources import SourceFile, expand_bundle, scan_sources
from assetpipe.writer import OutputLock, link_or_copy, remove_temp_files

# The no-op path must stay at "start Python + stat every source": the
# transform/pool/git stack is imported only when there is work to do.

# Below this much input, starting worker processes costs more than it saves.
INLINE_BYTES = 2_000_000
BATCH_BYTES = 1_000_000
BATCH_FILES = 64


@dataclass
class BuildReport:
    files: int = 0
    processed: int = 0          # jobs actually run (not reused from the cache)
    written: int = 0            # versioned files newly written
    bytes_in: int = 0           # source bytes
    bytes_out: int = 0          # final bytes (minified, recompressed)
    bytes_gzip: int = 0         # final bytes, with the gzip twin where there is one
    bytes_br: int = 0
    seconds: float = 0.0
    noop: bool = False
    manifest_changed: bool = False
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__, seconds=round(self.seconds, 3))


def settings_for(config: Config):
    from assetpipe.transforms import Settings
    return Settings(
        minify_js=config.minify.js, minify_css=config.minify.css,
        png=config.images.png, strip=config.images.strip,
        gzip=config.compress.gzip, gzip_level=config.compress.gzip_level,
        gzip_suffix=config.compress.gzip_suffix, brotli=config.compress.brotli,
        brotli_quality=config.compress.brotli_quality,
        brotli_large_quality=config.compress.brotli_large_quality,
        version_strategy=config.versioning.strategy, version_length=config.versioning.length)


def build(config: Config, workers: int | None = None, progress=None) -> BuildReport:
    """Run one build; `progress(total)` returns a callable advanced per finished job."""
    started = time.perf_counter()
    output = config.output
    os.makedirs(output, exist_ok=True)
    with OutputLock(output):
        sources = scan_sources(config.source)
        config_repr = repr(config) + __version__
        stats = [(s.logical_path, s.size, s.mtime_ns, s.inode) for s in sources.values()]
        building = state.read_marker(output, "building")
        if building is None and state.fingerprint_holds(output, state.fingerprint(
                config_repr, stats, _manifest_stat(output))):
            return BuildReport(files=len(sources) + len(config.bundles), noop=True,
                               seconds=time.perf_counter() - started)
        if building is not None:
            remove_temp_files(output)
        state.write_marker(output, "building", str(os.getpid()))
        state.remove_marker(output, "fingerprint")
        report = _build(config, sources, workers or os.cpu_count() or 1, progress)
        state.write_fingerprint(output, state.fingerprint(config_repr, stats, _manifest_stat(output)),
                                config.versioning.keep_unversioned)
        state.remove_marker(output, "building")
    report.seconds = time.perf_counter() - started
    return report


def _build(config: Config, sources: dict[str, SourceFile], workers: int, progress) -> BuildReport:
    from assetpipe import jobs as jobs_mod
    from assetpipe.jobs import Built, Job
    settings = settings_for(config)
    settings_key = settings.key()
    previous = state.load_state(config.output, settings_key)
    plans = _plan(config, sources)
    reused, todo, stat_keys = [], [], {}
    for logical, members in plans.items():
        stat_key = [[sources[m].size, sources[m].mtime_ns, sources[m].inode] for m in members]
        stat_keys[logical] = stat_key
        prev = previous.get(logical)
        if prev and prev["stat"] == stat_key and jobs_mod.outputs_exist(prev["built"], config.output):
            reused.append(Built(**prev["built"]))
            continue
        todo.append(Job(logical_path=logical,
                        inputs=tuple((m, sources[m].abs_path) for m in members),
                        is_bundle=logical not in sources,
                        mtime_ns=max(sources[m].mtime_ns for m in members),
                        previous=prev["built"] if prev else None))
    done = _run(todo, settings, config.output, workers, sources, progress)
    built = reused + done
    _write_unversioned(built, config)
    report = _report(built, done)
    report.manifest_changed = _publish(config, built)
    state.save_state(config.output, settings_key, {
        b.logical_path: {"stat": stat_keys[b.logical_path], "built": b.as_dict()} for b in built})
    return report


def _plan(config: Config, sources: dict[str, SourceFile]) -> dict[str, list[str]]:
    """Logical output path -> the source paths it is made from."""
    plans = {logical: [logical] for logical in sources}
    for bundle in config.bundles:
        if bundle.name in sources:
            raise BuildError(f"bundle name {bundle.name!r} is also a source file; "
                             "rename the bundle or the file", config.config_path)
        plans[bundle.name] = expand_bundle(bundle, sources)
    return plans


def _run(todo: list, settings, output: str, workers: int,
         sources: dict[str, SourceFile], progress) -> list:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from assetpipe import jobs as jobs_mod
    sizes = {job.logical_path: sum(sources[m].size for m, _ in job.inputs) for job in todo}
    advance = progress(len(todo)) if progress and todo else None
    total = sum(sizes.values())
    if workers <= 1 or total < INLINE_BYTES:
        results = []
        for job in todo:
            results.append(jobs_mod.run_job(job, settings, output))
            if advance:
                advance(1)
        return results
    batches = _batches(sorted(todo, key=lambda j: -sizes[j.logical_path]), sizes)
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["assetpipe.jobs"])
    results = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = [pool.submit(jobs_mod.run_batch, batch, settings, output) for batch in batches]
        for future, batch in zip(futures, batches):
            results.extend(future.result())
            if advance:
                advance(len(batch))
    return results


def _batches(todo: list, sizes: dict[str, int]) -> list[list]:
    batches, current, current_bytes = [], [], 0
    for job in todo:
        current.append(job)
        current_bytes += sizes[job.logical_path]
        if current_bytes >= BATCH_BYTES or len(current) >= BATCH_FILES:
            batches.append(current)
            current, current_bytes = [], 0
    if current:
        batches.append(current)
    return batches


def _write_unversioned(built: list, config: Config) -> None:
    if not config.versioning.keep_unversioned:
        return
    out = config.output
    for b in built:
        link_or_copy(os.path.join(out, b.versioned_path), os.path.join(out, b.logical_path))
        for twin in b.encodings.values():
            suffix = twin[len(b.versioned_path):]
            link_or_copy(os.path.join(out, twin), os.path.join(out, b.logical_path + suffix))


def _publish(config: Config, built: list) -> bool:
    """Write manifest.json if the assets changed; True if it was written."""
    from assetpipe.gitinfo import describe_checkout
    from assetpipe.publish import manifest_assets, publish_manifest, read_current, render_manifest
    assets = manifest_assets(built)
    build_info = describe_checkout(config.source)
    current = read_current(config.output)
    if current and current.get("assets") == assets and current.get("build") == build_info \
            and current.get("url_prefix") == config.url_prefix:
        return False
    publish_manifest(config.output, render_manifest(assets, config.url_prefix, build_info))
    return True


def _report(built: list, done: list) -> BuildReport:
    report = BuildReport(files=len(built), processed=len(done),
                         written=sum(b.written for b in done))
    for b in built:
        report.bytes_in += b.input_size
        report.bytes_out += b.size
        report.bytes_gzip += b.encoded_sizes.get("gzip", b.size)
        report.bytes_br += b.encoded_sizes.get("br", b.size)
        report.warnings.extend(b.warnings)
    return report


def _manifest_stat(output: str) -> tuple | None:
    try:
        st = os.stat(os.path.join(output, MANIFEST_NAME))
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)
