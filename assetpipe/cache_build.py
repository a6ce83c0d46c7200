"""The build's side of the cache: fetch before the jobs run, count and push
after the output is published, and deal the work out to `--shard K/N`."""
from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from assetpipe.cache import Results, cache_folder, count, source_tag
from assetpipe.config import Config

if TYPE_CHECKING:
    from assetpipe.cache_remote import Traffic
    from assetpipe.sources import SourceFile


def fetch(config: Config, plans: dict[str, list[str]],
          sources: dict[str, SourceFile]) -> tuple[set[str], Traffic | None]:
    """Bring the remote entries for today's sources into the local cache:
    (keys fetched, traffic), or (empty, None) without `[cache] remote`."""
    if not config.cache.remote:
        return set(), None
    from assetpipe.cache_remote import Traffic
    from assetpipe.cache_remote import fetch as remote_fetch
    traffic = Traffic()
    tags = source_tags(plans, sources)
    return remote_fetch(config.cache, cache_folder(config.state_dir), tags, traffic), traffic


def plan_and_fetch(config: Config, work, store, sources: dict[str, SourceFile], settings,
                   shard: tuple[int, int] | None) -> tuple[dict, dict, set[str], Traffic | None]:
    """Scan and plan the outputs `work` looks at, with the remote entries
    they may use fetched first (the scans are cached results too); a shard
    learns its share only from the plan, so it fetches after, and scans
    without the cache.  Returns (deps, import-cycle groups, fetched, traffic)."""
    from assetpipe import incremental, modules
    plans = work.plans
    fetched, traffic = fetch(config, {n: plans[n] for n in work.names}, sources) \
        if shard is None else (set(), None)
    incremental.plan_work(work, store, sources, settings,
                          cache_folder(config.state_dir) if shard is None else None)
    modules.refuse_module_bundles(config.bundles, plans, work.link_cache)
    # A CSS reference cycle is an error naming it, before any work; an import
    # cycle is versioned as one (assetpipe.modules).  An edit inside a cycle
    # reaches every member through the stored edges, so all are in work.names.
    deps = {name: targets & work.names for name, targets in work.deps.items()}
    groups = modules.cycle_groups(deps, work.plan_links)
    if shard is not None:
        deps = shard_deps(deps, plans, sources, shard)
        fetched, traffic = fetch(config, {n: plans[n] for n in deps}, sources)
    return deps, groups, fetched, traffic


def source_tags(plans: dict[str, list[str]], sources: dict[str, SourceFile]) -> set[str]:
    """The tag of every output (cache.source_tag): one read of each source."""
    digests: dict[str, bytes] = {}

    def digest(logical: str) -> bytes:
        if logical not in digests:
            try:
                with open(sources[logical].abs_path, "rb") as f:
                    digests[logical] = hashlib.sha256(f.read()).digest()
            except OSError:
                digests[logical] = b""   # the job reports it, naming the file
        return digests[logical]
    return {source_tag(digest(m) for m in members) for members in plans.values()}


def finish(config: Config, built: list, fetched: set[str], traffic: Traffic | None,
           scans: list[Results]) -> tuple[dict, list[str]]:
    """Push what this build computed (the output is already published): the
    jobs' results and the plan's `scans`; returns the report's `cache`
    section and at most two warnings."""
    ledgers = scans + [Results("", b.cache_tag, b.cache_hits, b.cache_computed,
                               b.cache_rejected) for b in built]
    computed = [(key, results.tag) for results in ledgers for key in results.computed]
    if traffic is not None and computed and not traffic.unreachable:
        from assetpipe.cache_remote import push
        push(config.cache, cache_folder(config.state_dir), computed, traffic)
    section: dict = dict(count(ledgers, fetched))
    warnings = []
    rejected = [k for r in ledgers for k in r.rejected] + (traffic.rejected if traffic else [])
    if rejected:
        warnings.append(f"cache: {len(rejected)} corrupt or foreign entries ignored, "
                        f"results computed again (first: {rejected[0]})")
    if traffic is not None:
        section["remote"] = traffic.as_dict()
        if traffic.faults:
            warnings.append(f"remote cache {config.cache.remote}: {len(traffic.faults)} "
                            f"failed request(s), built locally (first: {traffic.faults[0]})")
    return section, warnings


def parse_shard(text: str) -> tuple[int, int] | None:
    """"K/N" with 1 <= K <= N, else None."""
    k, sep, n = text.partition("/")
    if not (sep and k.isdigit() and n.isdigit()) or not 1 <= int(k) <= int(n):
        return None
    return int(k), int(n)


def shard_deps(deps: dict[str, set], plans: dict[str, list[str]],
               sources: dict[str, SourceFile], shard: tuple[int, int] | None) -> dict[str, set]:
    """The dependency graph restricted to shard K of N (all of it without a shard)."""
    if shard is None:
        return deps
    sizes = {logical: sum(sources[m].size for m in members) for logical, members in plans.items()}
    return {node: deps[node] for node in shard_nodes(deps, sizes, shard)}


def shard_nodes(deps: dict[str, set], sizes: dict[str, int],
                shard: tuple[int, int]) -> set[str]:
    """The outputs shard K of N computes: whole groups of outputs joined by
    references (a stylesheet with the images it names), so no shard needs a
    result another one computes; groups dealt largest first to the least
    loaded shard, so the split is deterministic and even by input bytes."""
    parent = {node: node for node in deps}

    def root(node: str) -> str:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node
    for node, targets in deps.items():
        for target in targets:
            parent[root(node)] = root(target)
    groups: dict[str, list[str]] = {}
    for node in sorted(deps):
        groups.setdefault(root(node), []).append(node)
    ordered = sorted(groups.values(), key=lambda g: (-sum(sizes[n] for n in g), g[0]))
    loads = [0] * shard[1]
    mine: set[str] = set()
    for group in ordered:
        least = loads.index(min(loads))
        loads[least] += sum(sizes[n] for n in group)
        if least == shard[0] - 1:
            mine.update(group)
    return mine
