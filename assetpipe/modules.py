"""ES modules in the build: import cycles, the manifest's import lists, the
import map, and bundles that must not swallow modules.

A cycle (a strongly connected component of the import graph) cannot be
versioned file by file: each member's rewritten bytes name the others'
versions.  So the whole component gets one version, from what determines
its output -- the members' logical paths and source bytes, the versioned
names of what it imports from outside, and the settings key (which covers
the tool's version) -- like Propshaft's digest over referenced sources.
Every member's name is known before any member is rewritten, and two
builds of the same inputs give the same names and bytes.
"""
from __future__ import annotations

import hashlib

from assetpipe.errors import BuildError, UsageError
from assetpipe.graph import Link, find_cycle, is_js
from assetpipe.naming import versioned_name


def cycle_groups(deps: dict[str, set[str]],
                 links: dict[str, list[Link]] | None = None) -> dict[str, tuple[str, ...]]:
    """Each JS file in an import cycle -> its whole cycle (a strongly
    connected component, sorted).  Import cycles are legal JavaScript and
    are versioned together; any other reference cycle (CSS @import) is an
    error naming it, with the file:line of each reference (from `links`)."""
    groups = {}
    for component in _components(deps):
        if len(component) == 1 and component[0] not in deps.get(component[0], ()):
            continue
        if not all(is_js(node) for node in component):
            members = set(component)
            sub = {n: {t for t in deps[n] if t in members} for n in component}
            raise BuildError(_cycle_message(find_cycle(sub), links or {}))
        for node in component:
            groups[node] = tuple(sorted(component))
    return groups


def _cycle_message(cycle: list[str], links: dict[str, list[Link]]) -> str:
    """`reference cycle: a -> b -> a (a:3 -> b, b:1 -> a)`."""
    hops = []
    for source, target in zip(cycle, cycle[1:], strict=False):
        line = next((link.line for link in links.get(source, ()) if link.target == target), None)
        hops.append(f"{source}:{line} -> {target}" if line else f"{source} -> {target}")
    return f"reference cycle: {' -> '.join(cycle)} ({', '.join(hops)})"


def _components(deps: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components (Tarjan's algorithm, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    for root in sorted(deps):
        if root in index:
            continue
        work = [(root, iter(sorted(t for t in deps[root] if t in deps)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    out.append(component)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(t for t in deps[child] if t in deps))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return out


def condensed(deps: dict[str, set[str]], groups: dict[str, tuple[str, ...]]) -> dict[str, set[str]]:
    """Dependencies for scheduling: a cycle member waits for everything its
    whole cycle references outside the cycle, and for nothing inside it."""
    out = {}
    for node, targets in deps.items():
        group = groups.get(node)
        if group is None:
            out[node] = set(targets)
        else:
            outside = set().union(*(deps[m] for m in group))
            out[node] = outside - set(group)
    return out


def cycle_names(group: tuple[str, ...], plans: dict[str, list[str]], abs_paths: dict[str, str],
                external: dict[str, str], settings_key: str, length: int) -> dict[str, str]:
    """Logical path -> versioned path for every member of one import cycle.
    `external` maps what the cycle imports from outside to versioned paths."""
    h = hashlib.sha256(f"assetpipe-cycle\0{settings_key}\0".encode())
    for logical in group:
        for member in plans[logical]:
            with open(abs_paths[member], "rb") as f:
                data = f.read()
            h.update(f"{logical}\0{member}\0{len(data)}\0".encode())
            h.update(data)
    for target, path in sorted(external.items()):
        h.update(f"{target}\0{path}\0".encode())
    version = h.hexdigest()[:length]
    return {logical: versioned_name(logical, version) for logical in group}


def static_imports(links: list[Link]) -> list[str]:
    """Logical paths a module imports statically (import/export ... from), in
    order, each once: what `modulepreload_tags()` follows."""
    out: list[str] = []
    for link in links:
        if link.kind == "module" and link.problem is None and link.target not in out:
            out.append(link.target)  # type: ignore[arg-type]
    return out


def check_import_map(importmap: tuple[tuple[str, str], ...], outputs) -> dict[str, str]:
    """The [importmap] table as the manifest records it; every target must be
    an asset of this build."""
    for specifier, logical in importmap:
        if logical not in outputs:
            raise UsageError(f'importmap."{specifier}": {logical!r} is not a file in the '
                             "source folder or a bundle")
    return dict(sorted(importmap))


def refuse_module_bundles(bundles, plans: dict[str, list[str]], link_cache: dict) -> None:
    """Concatenating ES modules merges their scopes and breaks import/export:
    a bundle of them is refused unless it says its members are classic
    scripts.  Whether a member is a module comes from plan.scan_links."""
    for bundle in bundles:
        if bundle.classic:
            continue
        for member in plans[bundle.name]:
            if member.endswith(".mjs") or link_cache.get(member, {}).get("module"):
                raise BuildError(f"bundle {bundle.name!r}: {member} is an ES module; "
                                 "concatenated modules break their import/export scopes. "
                                 "Import it from a module instead, or mark the bundle "
                                 "`classic = true` if its files are classic scripts")
