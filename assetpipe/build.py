"""`assetpipe build`: config -> sources -> jobs (pool) -> copies -> manifest.

A no-op build stats every source and reads one small fingerprint file; an
incremental one re-runs only jobs whose inputs' stat changed.  The manifest
is replaced last, and only when the assets changed.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from assetpipe import __version__, budgets, gitinfo, state
from assetpipe.config import Config
from assetpipe.errors import AssetpipeError, BuildError
from assetpipe.manifest import MANIFEST_NAME
from assetpipe.sources import Scan, scan
from assetpipe.statedir import prepare_state_dir
from assetpipe.versioning import uses_git
from assetpipe.writer import OutputLock, remove_temp_files

# The no-op path must stay at "start Python + stat every source": the
# transform/pool/git stack is imported only when there is work to do.


@dataclass
class BuildReport:
    files: int = 0
    processed: int = 0          # jobs actually run (not reused from the cache)
    written: int = 0            # versioned files newly written
    bytes_in: int = 0           # input bytes of every output (bundle members count again)
    bytes_out: int = 0          # final bytes (minified, recompressed)
    bytes_gzip: int = 0         # final bytes, with the gzip twin where there is one
    bytes_br: int = 0
    seconds: float = 0.0
    noop: bool = False
    manifest_changed: bool = False
    warnings: list[str] = field(default_factory=list)
    # Per result kind (png, min, gzip, br): local / remote hits and computed;
    # with [cache] remote, "remote": the store's traffic (cache_remote.Traffic).
    cache: dict = field(default_factory=dict)
    budgets: list[dict] = field(default_factory=list)   # budgets.check rows

    def as_dict(self) -> dict:
        return dict(self.__dict__, seconds=round(self.seconds, 3))


def settings_for(config: Config):
    from assetpipe.graph import RefPolicy
    from assetpipe.transforms import Settings
    return Settings(minify=config.minify, compress=config.compress, images=config.images,
                    versioning=config.versioning, sourcemaps=config.sourcemaps,
                    refs=RefPolicy(config.references, root_path=config.url_path))


def build(config: Config, workers: int | None = None, progress=None,
          origin: gitinfo.Origin | None = None) -> BuildReport:
    """Run one build; `progress(total)` returns a callable advanced per finished job.
    `origin` says which commit the source folder is (build --ref); by default
    it is found from the working tree."""
    started = time.perf_counter()
    output, state_dir = config.output, config.state_dir
    origin = gitinfo.origin_for(config.source, config.versioning.strategy, origin)
    os.makedirs(output, exist_ok=True)
    with OutputLock(output):
        prepare_state_dir(output, state_dir)
        found = scan(config.source)
        config_repr = (_build_inputs(config) + _git_stamp(config, origin)
                       + repr(_stat(config.versioning.vite_manifest)))  # an input, dot-named
        inputs = state.inputs_hash(config_repr, found)
        building = state.read_marker(state_dir, "building")
        value = state.fingerprint(inputs, _manifest_stat(output))
        record = state.read_fingerprint(state_dir)
        intact = record is not None and state.outputs_intact(output, state_dir, record)
        if building is None and intact and (record or {}).get("value") == value:
            return BuildReport(files=found.count + len(config.bundles), noop=True,
                               seconds=time.perf_counter() - started,
                               budgets=budgets.published_rows(config.budgets, config.output))
        if building is not None:
            _sweep(output, state_dir, only_dead=False)
        state.write_marker(state_dir, "building", str(os.getpid()))
        trusted = building is None and intact and not uses_git(config.versioning.strategy)
        report = _build_safely(
            config, found, workers or os.cpu_count() or 1, progress, origin,
            lambda: state.fingerprint(inputs, _manifest_stat(output)), trusted)
        if building is not None:   # workers orphaned by the kill have exited by now
            _sweep(output, state_dir, only_dead=True)
        state.remove_marker(state_dir, "building")
    report.seconds = time.perf_counter() - started
    return report


def _sweep(output: str, state_dir: str, only_dead: bool) -> None:
    """Temp files a killed build left in the output and the state folder."""
    remove_temp_files(output, only_dead=only_dead)
    remove_temp_files(state_dir, only_dead=only_dead)


def _build_safely(config: Config, found: Scan, workers: int, progress,
                  origin: gitinfo.Origin | None, fingerprint, trusted: bool) -> BuildReport:
    """_build with its state store.  A store that turns out not to describe
    the output is looked at in full; one that cannot be read is discarded and
    the build rerun: the store is a cache, never a blocker.  A build that fails
    before publishing anything (its fingerprint still there) leaves the output
    as the last build made it: the next one needs no sweep and no full look."""
    from assetpipe.incremental import Untrusted
    from assetpipe.store import DatabaseError, discard
    output, state_dir, discarded = config.output, config.state_dir, False
    while True:
        store = state.open_store(state_dir)
        try:
            report, breaches = _build(config, found, workers, progress, origin, store, trusted)
            if breaches:   # nothing published: the fingerprint stays the last build's
                raise budgets.BudgetError(breaches, report)
            state.write_fingerprint(output, state_dir, fingerprint(),
                                    config.versioning.keep_unversioned, store)
            return report
        except Untrusted:
            store.rollback()
            trusted = False
        except DatabaseError as exc:
            store.close()
            if discarded:
                raise BuildError(f"build state database failed: {exc}", store.path) from None
            discard(store.path)
            discarded, trusted = True, False
        except AssetpipeError:
            store.rollback()
            if state.read_fingerprint(state_dir) is not None:
                state.remove_marker(state_dir, "building")
            raise
        finally:
            store.close()


def _git_stamp(config: Config, origin: gitinfo.Origin | None) -> str:
    """HEAD moving (a commit, a checkout) changes versions and the manifest's
    `build`, so it is part of the no-op fingerprint."""
    if origin is not None and origin.exported:
        return origin.commit or ""
    return gitinfo.head_stamp(config.source)


def warm(config: Config, shard: tuple[int, int], workers: int | None = None) -> BuildReport:
    """`build --shard K/N`: compute and push the expensive results of one
    N-th of the outputs (cache_build.shard_nodes) in a scratch folder (output
    and state); the output folder, its manifest and its state are not touched."""
    import dataclasses
    import tempfile
    started = time.perf_counter()
    origin = gitinfo.find_origin(config.source) if uses_git(config.versioning.strategy) else None
    with tempfile.TemporaryDirectory(prefix="assetpipe-shard-") as scratch:
        scratch_config = dataclasses.replace(config, output=os.path.join(scratch, "out"),
                                             state_dir=os.path.join(scratch, "state"))
        store = state.open_store(scratch_config.state_dir)
        try:
            report, _ = _build(scratch_config, scan(config.source),
                               workers or os.cpu_count() or 1, None, origin, store, False, shard)
        finally:
            store.close()
    report.seconds = time.perf_counter() - started
    return report


def _build(config: Config, found: Scan, workers: int, progress,
           origin: gitinfo.Origin | None, store, trusted: bool,
           shard: tuple[int, int] | None = None) -> tuple[BuildReport, list[str]]:
    """The build, and the budget breaches (then nothing is published)."""
    from assetpipe import cache_build, incremental, modules, plan
    from assetpipe.runner import Runner
    from assetpipe.source_delta import source_delta
    settings = settings_for(config)
    trusted = _store_applies(config, store, settings, trusted)
    sources = found.files()
    delta = source_delta(store, found, sources)
    plans = plan.outputs(config, sources, delta.changed if trusted else None)
    work = incremental.find_work(store, sources, plans, trusted, delta)
    deps, groups, fetched, traffic = cache_build.plan_and_fetch(config, work, store, sources,
                                                                settings, shard)
    git = gitinfo.inspect(origin or gitinfo.find_origin(config.source))
    commits, git_warnings = _commits(settings, git, plans)
    records: dict[str, dict] = {}
    advance = progress(len(deps)) if progress else None
    with Runner(settings, config.output, config.state_dir, workers, advance,
                lambda b: work.versioned.update({b.logical_path: b.versioned_path})) as runner:
        reused, done = runner.run_graph(
            modules.condensed(deps, groups),
            incremental.preparer(work, sources, commits, records, config.output, groups, settings),
            incremental.changed_bytes(work, sources))
    built = reused + done
    breaches: list[str] = []
    if shard is None:
        report, breaches = _publish(config, store, work, built, done, records, git.build_info())
    else:
        report = _report(built, done, (len(built), 0, 0, 0, 0))
    report.warnings[:0] = (work.warnings + git_warnings
                           + plan.reserved_warnings({n: plans[n] for n in work.names}))
    report.cache, cache_warnings = cache_build.finish(
        config, built, fetched, traffic, [work.scans[n] for n in deps if n in work.scans])
    report.warnings.extend(cache_warnings)
    return report, breaches


def _store_applies(config: Config, store, settings, trusted: bool) -> bool:
    """Open the build's transaction; True when the store may steer an
    incremental build (same settings and config)."""
    from assetpipe.engine_key import remember
    store.begin()
    remember(store.meta())
    if store.meta().get("settings") != settings.key():
        store.reset({})       # made with other settings: nothing in it applies
        return False
    # [budgets], [importmap] and Vite entries take what they need of the
    # outputs not looked at from the store (commit.sizes_of, commit.extra_of).
    return trusted and store.meta().get("config") == _build_inputs(config)


def _publish(config: Config, store, work, built: list, done: list, records: dict,
             build_info: dict) -> tuple[BuildReport, list[str]]:
    """Budgets first (a breach publishes nothing); then plain copies, the
    store's rows, stale copies gone, the manifest and its history entry, then
    the one COMMIT."""
    from assetpipe import commit
    from assetpipe.publish import read_current, remove_stale_copies, write_unversioned
    sizes = commit.sizes_of(store, work, built) if config.budgets else {}
    rows, breaches = budgets.check(config.budgets, sizes)
    if breaches:
        report = _report(built, done, (len(sizes), 0, 0, 0, 0))
        report.budgets = rows
        return report, breaches
    state.remove_marker(config.state_dir, "fingerprint")   # from here on, the output changes
    write_unversioned(built, config, work.plans.keys())
    changes = commit.save_rows(store, work, built, records, commit.imports_of(work))
    report = _report(built, done, store.totals())
    report.budgets = rows
    old, keep = changes.removed, config.versioning.keep_unversioned
    if work.full:   # the store may have been reset (other settings): ask the live manifest
        current = read_current(config.output)
        if isinstance(current, dict) and isinstance(current.get("assets"), dict):
            old = {**current["assets"], **old}
    # Before the manifest swap, which names no plain copy: after it, a kill
    # would leave them forever (the rerun finds the manifest current).
    remove_stale_copies(config.output, old, work.plans.keys() if keep else set())
    extra = commit.extra_of(config, store, work.plans, report.warnings)
    report.manifest_changed = commit.publish(store, config.output, config.state_dir, changes,
                                             config.url_prefix, build_info, extra)
    commit.finish(store, settings_for(config).key(), _build_inputs(config))
    return report, []


def _commits(settings, git: gitinfo.GitState, plans: dict) -> tuple[dict, list[str]]:
    """The commit each output is versioned by ("git" strategy only), and warnings."""
    if not uses_git(settings.versioning.strategy):
        return {}, []
    from assetpipe.gitversion import plan_commits
    return plan_commits(git, plans)


def _report(built: list, done: list, totals: tuple[int, ...]) -> BuildReport:
    """Counts of this build's work; byte totals over every output (from the
    store); the warnings of the outputs it looked at."""
    files, bytes_in, bytes_out, bytes_gzip, bytes_br = totals
    report = BuildReport(files=files, processed=len(done), written=sum(b.written for b in done),
                         bytes_in=bytes_in, bytes_out=bytes_out, bytes_gzip=bytes_gzip,
                         bytes_br=bytes_br)
    for b in built:
        report.warnings.extend(b.warnings)
    return report


def _build_inputs(config: Config) -> str:
    """The config as far as it shapes the output (not [pages]/[apache]/[sync])."""
    return repr((__version__, config.source, config.url_prefix, config.bundles,
                 config.versioning, config.minify, config.compress, config.images,
                 config.sourcemaps, config.references, config.importmap, config.budgets))


def _manifest_stat(output: str) -> tuple | None:
    return _stat(os.path.join(output, MANIFEST_NAME))


def _stat(path: str) -> tuple | None:
    try:
        st = os.stat(path) if path else None
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns) if st else None
