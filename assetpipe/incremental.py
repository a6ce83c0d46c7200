"""Planning in proportion to the change: which outputs a build looks at.

The state store remembers every source's stat and every reference edge
(including references to files that were missing), so a build finds the
sources whose stat changed, were added or removed, and follows the edges
backwards to everything that names them, transitively; every bundle is
looked at too (they are few, and their member lists come from globs).  Only
those outputs are scanned, planned, prepared and written back; every other
output keeps its stored record untouched.

A build looks at everything ("full") when it cannot trust the store to
describe the output folder: no store or another config, the last build was
killed, an output file went missing, or the "git" strategy (a commit moves
versions without touching any file's stat).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import partial

from assetpipe import plan
from assetpipe.graph import Link, is_js, report_problems, scannable, targets
from assetpipe.source_delta import Delta
from assetpipe.sources import SourceFile


class Untrusted(Exception):
    """The store does not describe what a trusted build needs: go full."""


@dataclass
class Work:
    """What one build looks at, and what it knows about the rest."""

    plans: dict[str, list[str]]
    names: set[str]                      # outputs prepared by this build
    removed: set[str]                    # outputs of the last build no longer planned
    sources: Delta                       # sources changed, added, removed since the store
    full: bool
    previous: dict[str, dict] = field(default_factory=dict)   # stored records of `names`
    plan_links: dict[str, list[Link]] = field(default_factory=dict)
    deps: dict[str, set[str]] = field(default_factory=dict)
    versioned: dict[str, str] = field(default_factory=dict)   # deps outside `names`
    link_cache: dict[str, dict] = field(default_factory=dict)  # rescanned/rechecked links
    stored_links: dict[str, dict] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    scans: dict = field(default_factory=dict)   # source -> its scan's cache.Results


def find_work(store, sources: dict[str, SourceFile], plans: dict[str, list[str]],
              trusted: bool, delta: Delta) -> Work:
    changed, gone = delta.changed, delta.gone
    if not trusted:
        return Work(plans, set(plans), store.names() - plans.keys(), delta, True)
    bundles = {name for name in plans if name not in sources}
    names = changed | bundles
    frontier = changed | gone | bundles
    seen = set(frontier)
    while frontier:
        users = store.users_of(frontier) - seen
        seen |= users
        names |= users & plans.keys()
        frontier = users
    return Work(plans, names, set(gone), delta, False)


def plan_work(work: Work, store, sources: dict[str, SourceFile], settings,
              cache: str | None = None) -> None:
    """Scan, link and check the outputs in `work.names`; fill in what they need
    from the store (the versioned names of unchanged outputs they reference).
    With `cache` (a cache folder) each scan is a cached result (work.scans)."""
    members = {m for name in work.names for m in work.plans[name]}
    scanned = {m: sources[m] for m in members if scannable(m)}
    work.stored_links = store.links(None if work.full else scanned)
    in_bundles = {m for name in work.names if name not in sources for m in work.plans[name]
                  if is_js(m)}   # bundle members: is each an ES module? (modules.py)
    links, work.link_cache = plan.scan_links(scanned, set(work.plans), settings.refs,
                                             work.stored_links, in_bundles,
                                             cache and partial(_scan_memo, work.scans, cache))
    work.plan_links = {name: plan.plan_links(name, work.plans[name], name not in sources,
                                             links, settings) for name in work.names}
    # Every source is also an output of its own, so reporting only those names
    # each bundle member's problem once, at the member's own file:line.
    work.warnings = report_problems(
        {name: found for name, found in work.plan_links.items() if name in sources},
        settings.refs)
    bundles = {name: work.plans[name] for name in work.names if name not in sources}
    work.warnings += plan.misplaced_imports(bundles, sources, links)
    work.deps = {name: targets(found) for name, found in work.plan_links.items()}
    outside = set().union(*work.deps.values()) - work.names
    records = store.records(outside)
    if records.keys() != outside:
        raise Untrusted(f"no stored record for {sorted(outside - records.keys())[:3]}")
    work.versioned = {name: r["built"]["versioned_path"] for name, r in records.items()}
    work.previous = store.records(None if work.full else work.names)


def _scan_memo(scans: dict, folder: str, logical: str, data: bytes):
    """The memo a source's scan goes through, filed under the source's tag
    (the tag of its own output, so a build that has it fetches its scan)."""
    from assetpipe.cache import Results, source_tag
    scans[logical] = Results(folder, source_tag([hashlib.sha256(data).digest()]))
    return scans[logical].memo


def changed_bytes(work: Work, sources: dict[str, SourceFile]) -> int:
    """Input bytes of the sources this build will probably read again."""
    return sum(sources[m].size for m in work.sources.changed if m in work.names)


def edges(work: Work) -> dict[str, set[str]]:
    """Every reference target (found or missing) of each output looked at."""
    return {name: {link.target for link in found if link.target is not None}
            for name, found in work.plan_links.items()}


def preparer(work, sources: dict[str, SourceFile], commits: dict, records: dict, output: str,
              groups: dict, settings):
    """prepare(logical) for the runner: the stored Built when nothing it depends
    on changed, else (Job, input bytes).  Records what each output was made from."""
    from assetpipe.jobs import Built, Job, outputs_exist
    versioned, cycle_names = work.versioned, {}

    def prepare(logical: str):
        members = work.plans[logical]
        key = plan.stat_key(members, sources)
        if logical in groups and logical not in cycle_names:
            cycle_names.update(cycle_names_of(groups[logical], work, sources, settings))
        dep_paths = {target: versioned.get(target) or cycle_names[target]
                     for target in sorted(work.deps[logical])}
        commit = commits.get(logical)
        records[logical] = {"stat": key, "deps": dep_paths, "commit": commit}
        prev = work.previous.get(logical)
        if (prev and prev["stat"] == key and prev["deps"] == dep_paths
                and prev.get("commit") == commit and outputs_exist(prev["built"], output)
                and cycle_names.get(logical) in (None, prev["built"]["versioned_path"])):
            versioned[logical] = prev["built"]["versioned_path"]
            return Built(**prev["built"])
        job = Job(logical_path=logical, inputs=tuple((m, sources[m].abs_path) for m in members),
                  is_bundle=logical not in sources,
                  mtime_ns=max(sources[m].mtime_ns for m in members),
                  deps=tuple(dep_paths.items()), previous=prev["built"] if prev else None,
                  commit=commit, versioned_path=cycle_names.get(logical))
        return job, sum(sources[m].size for m in members)
    return prepare


def cycle_names_of(group, work, sources, settings) -> dict[str, str]:
    """Versioned names of one import cycle's members (assetpipe.modules)."""
    from assetpipe.modules import cycle_names
    external = {t: work.versioned[t] for m in group for t in work.deps[m] if t not in group}
    return cycle_names(group, work.plans, {k: s.abs_path for k, s in sources.items()}, external,
                       settings.key(), settings.versioning.length)
