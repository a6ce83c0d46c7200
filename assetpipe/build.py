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
from assetpipe.errors import UsageError
from assetpipe.manifest import MANIFEST_NAME
from assetpipe.sources import SourceFile, scan_sources
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
    manifest = os.path.join(output, MANIFEST_NAME)
    origin = _git_origin(config, origin)
    os.makedirs(output, exist_ok=True)
    with OutputLock(output):
        prepare_state_dir(output, state_dir)
        sources = scan_sources(config.source)
        config_repr, stats = _fingerprint_inputs(config, origin, sources)
        building = state.read_marker(state_dir, "building")
        if building is None and state.fingerprint_holds(output, state_dir, state.fingerprint(
                config_repr, stats, _stat(manifest))):
            return BuildReport(files=len(sources) + len(config.bundles), noop=True,
                               seconds=time.perf_counter() - started,
                               budgets=budgets.published_rows(config.budgets, config.output))
        if building is not None:
            _sweep(output, state_dir, only_dead=False)
        state.write_marker(state_dir, "building", str(os.getpid()))
        state.remove_marker(state_dir, "fingerprint")
        report, breaches = _build(config, sources, workers or os.cpu_count() or 1, progress,
                                  origin)
        if building is not None:
            # Workers orphaned by the kill may have written temp files after
            # the sweep above; by now they have exited (jobs.exit_with_build).
            _sweep(output, state_dir, only_dead=True)
        if breaches:  # no fingerprint: the next build checks again instead of a no-op
            state.remove_marker(state_dir, "building")
            report.seconds = time.perf_counter() - started
            raise budgets.BudgetError(breaches, report)
        state.write_fingerprint(output, state_dir,
                                state.fingerprint(config_repr, stats, _stat(manifest)),
                                config.versioning.keep_unversioned)
        state.remove_marker(state_dir, "building")
    report.seconds = time.perf_counter() - started
    return report


def _git_origin(config: Config, origin: gitinfo.Origin | None) -> gitinfo.Origin | None:
    """The commit the sources are, for the "git" strategy: `origin` (build
    --ref), else the working tree's; a usage error outside a repository."""
    if origin is not None or not uses_git(config.versioning.strategy):
        return origin
    found = gitinfo.find_origin(config.source)
    if found is None:
        raise UsageError(f'versioning.strategy = "git": the source folder {config.source} '
                         'is not in a git repository; run `git init` and commit, or use '
                         'strategy "hash"')
    return found


def _sweep(output: str, state_dir: str, only_dead: bool) -> None:
    """Temp files a killed build left in the output and the state folder."""
    remove_temp_files(output, only_dead=only_dead)
    remove_temp_files(state_dir, only_dead=only_dead)


def _fingerprint_inputs(config: Config, origin: gitinfo.Origin | None,
                       sources: dict[str, SourceFile]) -> tuple[str, list]:
    """What the no-op fingerprint covers besides the manifest: the config as
    far as it shapes the output, HEAD, the Vite manifest (an input, though
    dot-named) and every source's stat."""
    config_repr = (_build_inputs(config) + _git_stamp(config, origin)
                   + repr(_stat(config.versioning.vite_manifest)))
    return config_repr, [(s.logical_path, s.size, s.mtime_ns, s.inode) for s in sources.values()]


def _git_stamp(config: Config, origin: gitinfo.Origin | None) -> str:
    """HEAD moving (a commit, a checkout) changes versions and the manifest's
    `build`, so it is part of the no-op fingerprint."""
    if origin is not None and origin.exported:
        return origin.commit or ""
    return gitinfo.head_stamp(config.source)


@dataclass
class _Plan:
    """What this build makes from what, and what it knows before any job runs."""

    plans: dict[str, list[str]]         # output -> its source members, in order (this shard's)
    deps: dict[str, set[str]]           # output -> outputs it references
    groups: dict[str, tuple[str, ...]]  # an import cycle's member -> the whole cycle
    imports: dict[str, list[str]]       # ES module -> what it imports statically
    link_cache: dict
    commits: dict                       # output -> commit ("git" strategy)
    build_info: dict                    # the manifest's `build` object
    warnings: list[str]


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
        report, _ = _build(scratch_config, scan_sources(config.source),
                           workers or os.cpu_count() or 1, None, origin, shard)
    report.seconds = time.perf_counter() - started
    return report


def _build(config: Config, sources: dict[str, SourceFile], workers: int, progress,
           origin: gitinfo.Origin | None, shard: tuple[int, int] | None = None
           ) -> tuple[BuildReport, list[str]]:
    """Plan, fetch cached results, run the jobs, check the budgets and publish
    (not for a shard), push what was computed.  The report and the budget
    breaches (then nothing is published)."""
    from assetpipe import cache_build, modules
    from assetpipe.reuse import Reuse
    from assetpipe.runner import Runner
    settings = settings_for(config)
    previous, prev_links = state.load_state(config.state_dir, settings.key())
    planned = _plan(config, sources, settings, prev_links, origin, shard)
    fetched, traffic = cache_build.fetch(config, planned.plans, sources)
    reuse = Reuse(config.output, sources, planned, previous, settings)
    advance = progress(len(planned.plans)) if progress else None
    runner = Runner(settings, config.output, config.state_dir, workers, advance, reuse.finished)
    with runner:
        reused, done = runner.run_graph(modules.condensed(planned.deps, planned.groups),
                                        reuse.prepare, reuse.changed_bytes())
    built = reused + done
    report = _report(built, done)
    report.warnings[:0] = planned.warnings
    breaches: list[str] = []
    if shard is None:
        records = reuse.records_for(built)
        breaches = _release(config, built, planned, report)
        state.save_state(config.state_dir, settings.key(), records, planned.link_cache)
    report.cache, cache_warnings = cache_build.finish(config, built, fetched, traffic)
    report.warnings.extend(cache_warnings)
    return report, breaches


def _plan(config: Config, sources: dict[str, SourceFile], settings, prev_links: dict,
          origin: gitinfo.Origin | None, shard: tuple[int, int] | None) -> _Plan:
    """Outputs, their links (every problem reported together), dependencies
    and commits; with a shard, only its outputs (warnings cover them all)."""
    from assetpipe import cache_build, gitversion, graph, modules, plan
    plans = plan.outputs(config, sources)
    in_bundles = {m for bundle in config.bundles for m in plans[bundle.name] if graph.is_js(m)}
    links, link_cache = plan.scan_links(sources, set(plans), settings.refs, prev_links, in_bundles)
    modules.refuse_module_bundles(config.bundles, plans, link_cache)
    plan_links = {logical: plan.plan_links(logical, members, logical not in sources,
                                           links, settings)
                  for logical, members in plans.items()}
    # Every source is also an output of its own, so reporting only those names
    # each bundle member's problem once, at the member's own file:line.
    warnings = graph.report_problems(
        {logical: found for logical, found in plan_links.items() if logical in sources},
        settings.refs)
    git = gitinfo.inspect(origin or gitinfo.find_origin(config.source))
    # The commit each output is versioned by ("git" strategy only).
    commits, git_warnings = (gitversion.plan_commits(git, plans)
                             if uses_git(settings.versioning.strategy) else ({}, []))
    deps = {logical: graph.targets(found) for logical, found in plan_links.items()}
    # A CSS reference cycle is an error naming it, before any work; an
    # import cycle is versioned as one (assetpipe.modules).
    groups = modules.cycle_groups(deps, plan_links)
    imports = {logical: modules.static_imports(found) for logical, found in plan_links.items()}
    warnings += (plan.misplaced_imports(plans, sources, links) + git_warnings
                 + plan.reserved_warnings(plans))
    deps = cache_build.shard_deps(deps, plans, sources, shard)
    plans = {logical: plans[logical] for logical in deps}
    return _Plan(plans, deps, groups, {k: v for k, v in imports.items() if v}, link_cache,
                 commits, git.build_info(), warnings)


def _release(config: Config, built: list, planned: _Plan, report: BuildReport) -> list[str]:
    """Check the budgets, then publish (plain copies, manifest, history);
    the breaches: with any, nothing is published."""
    from assetpipe import publish
    from assetpipe.modules import check_import_map
    importmap = check_import_map(config.importmap, planned.plans)
    assets = publish.manifest_assets(built, planned.imports)
    if config.versioning.vite_manifest:  # its entries under their source names too
        from assetpipe import vite
        report.warnings += vite.add_entries(assets, config.source, config.versioning)
    report.budgets, breaches = budgets.check(config.budgets, {
        b.logical_path: {"raw": b.size, **b.encoded_sizes} for b in built})
    if not breaches:
        publish.write_unversioned(built, config)
        report.manifest_changed = _publish(config, assets, planned.build_info, importmap)
    return breaches


def _publish(config: Config, assets: dict, build_info: dict, importmap: dict) -> bool:
    """Write manifest.json if anything in it changed, and a history entry if
    the assets did; True if the manifest was written."""
    from assetpipe import history, publish
    current = publish.read_current(config.output)
    content = publish.render_manifest(assets, config.url_prefix, build_info, importmap)
    changed = not (current and current.get("assets") == assets
                   and current.get("build") == build_info
                   and current.get("importmap", {}) == importmap
                   and current.get("url_prefix") == config.url_prefix)
    if current:
        # Before the manifest swap, which names no plain copy: after it, a
        # kill would leave them forever (the rerun finds the manifest current).
        kept = assets.keys() if config.versioning.keep_unversioned else set()
        publish.remove_stale_copies(config.output, current["assets"], kept)
    if changed:
        publish.publish_manifest(config.output, content)
    history.record(config.state_dir, assets, content)
    return changed


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


def _build_inputs(config: Config) -> str:
    """The config as far as it shapes the output (not [pages]/[apache]/[sync])."""
    return repr((__version__, config.source, config.url_prefix, config.bundles,
                 config.versioning, config.minify, config.compress, config.images,
                 config.sourcemaps, config.references, config.importmap, config.budgets))


def _stat(path: str) -> tuple | None:
    try:
        st = os.stat(path) if path else None
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns) if st else None
