"""What to build from what: output plans, their links, and their dependencies.

Link scanning reads only the CSS/JS whose stat changed since the last build;
the links of the others come from the cache, so the graph costs nothing on
an incremental build.
"""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import replace
from itertools import islice

from assetpipe.config import Config
from assetpipe.errors import BuildError
from assetpipe.graph import Link, RefPolicy, resolve_link, scan, scannable
from assetpipe.policy import TWIN_SUFFIXES, is_prehashed, is_reserved, misnamed
from assetpipe.sourcemap import through_input_map
from assetpipe.sources import SourceFile, expand_bundle
from assetpipe.transforms import Settings, makes_map, minifies


def outputs(config: Config, sources: dict[str, SourceFile],
            added: set[str] | None = None) -> dict[str, list[str]]:
    """Logical output path -> the source paths it is made from, in order.
    `added`: the sources new or changed since a build that checked every
    other name (None: check them all)."""
    plans = {logical: [logical] for logical in sources}
    for bundle in config.bundles:
        if bundle.name in sources:
            raise BuildError(f"bundle name {bundle.name!r} is also a source file; "
                             "rename the bundle or the file", config.config_path)
        plans[bundle.name] = expand_bundle(bundle, sources)
    if added is None:
        folders = {name.rsplit("/", 1)[0] for name in plans if "/" in name}
        folders |= {f.rsplit("/", i)[0] for f in list(folders) for i in range(1, f.count("/") + 1)}
        _reject_name_collisions(plans, sources, plans, folders.__contains__)
    else:
        _reject_name_collisions(plans, sources, _neighbours(added, plans, sources),
                                _folder_test(plans))
    _reject_page_collisions(config, plans)
    return plans


def _twin_of(name: str, names) -> str | None:
    """The output `name` would shadow as its precompressed twin, if any."""
    return next((name[:-len(s)] for s in TWIN_SUFFIXES
                 if name.endswith(s) and name[:-len(s)] in names), None)


def _reject_name_collisions(plans: dict[str, list[str]], sources: dict[str, SourceFile],
                            names, is_folder) -> None:
    """Names an output may not have: one that looks versioned, one that is
    another output's twin (servers would send its bytes to gzip/br clients
    instead of the real file's), one that is also a folder of outputs."""
    for name in names:
        where = sources[name].abs_path if name in sources else f"bundle {name!r}"
        problem = misnamed(name)
        twin_of = _twin_of(name, plans)
        if twin_of:
            problem = (f"it would be taken for the precompressed twin of {twin_of!r}; "
                       "delete it (the build writes its own twins) or rename it")
        elif is_folder(name):
            problem = "an output folder has the same name; rename one of them"
        if problem:
            raise BuildError(problem, where)


def _neighbours(added: set[str], plans: dict[str, list[str]], sources) -> list[str]:
    """The names whose check an added name can change: itself, its twins and
    the outputs at its folders' names; and every bundle (globs).  In plan order."""
    bundles = list(islice(plans, len(sources), None))   # after the sources: outputs()
    found = set(added)
    for name in added:
        found.update(name + s for s in TWIN_SUFFIXES if name + s in plans)
        parts = name.split("/")
        found.update(f for f in ("/".join(parts[:i]) for i in range(1, len(parts))) if f in plans)
    return sorted(found.difference(bundles)) + bundles


def _folder_test(plans: dict[str, list[str]]):
    """is_folder(name) by bisection of the sorted names: no set of every folder."""
    ordered = sorted(plans)

    def is_folder(name: str) -> bool:
        i = bisect_left(ordered, name + "/")
        return i < len(ordered) and ordered[i].startswith(name + "/")
    return is_folder


def reserved_warnings(plans: dict[str, list[str]]) -> list[str]:
    """Outputs at a plain name the tool owns (a PWA's `manifest.json`): they
    are versioned and listed in the manifest, but no plain copy is written."""
    return [f"{name}: this name belongs to the build manifest, so no plain copy is written; "
            f"link it by its versioned URL (asset_url({name!r}))"
            for name in plans if is_reserved(name)]


def _reject_page_collisions(config: Config, plans: dict[str, list[str]]) -> None:
    """A page rendered at an asset's plain name (or twin name) would be
    overwritten by every build, or be served in its place."""
    if config.pages is None or config.pages.output != config.output:
        return
    for page in config.pages.pages:
        twin = _twin_of(page.path, plans) or next(
            (name for name in plans if _twin_of(name, {page.path})), None)
        if page.path in plans or twin:
            raise BuildError(f"page {page.path!r} ([[pages.page]]) has the same name as an "
                             f"asset in the output{' or its twin' if twin else ''}; rename the "
                             "page or the source file", config.config_path)


def stat_key(members: list[str], sources: dict[str, SourceFile]) -> list[list[int]]:
    return [[sources[m].size, sources[m].mtime_ns, sources[m].inode] for m in members]


def scan_links(sources: dict[str, SourceFile], known: set[str], policy: RefPolicy,
               cached: dict, classify=frozenset(),
               memo_for=None) -> tuple[dict[str, list[Link]], dict]:
    """Links of every scannable source (sourcemaps included); and the new
    cache, which also says whether each file in `classify` (JS bundle
    members) is an ES module.  `memo_for(logical, bytes)` gives the memo a
    file's scan goes through (graph.scan), if any."""
    links, cache = {}, {}
    for logical, src in sources.items():
        if not scannable(logical):
            continue
        key = stat_key([logical], sources)
        hit = cached.get(logical)
        if hit and hit["stat"] == key and (logical not in classify or "module" in hit):
            found = [_recheck(Link(*row), known) for row in hit["links"]]
            module = hit.get("module")
        else:
            found = _scan_file(src, known, policy, memo_for)
            module = _is_module(src) if logical in classify else None
        links[logical] = found
        cache[logical] = {"stat": key, "links": [list(link.__dict__.values()) for link in found]}
        if module is not None:
            cache[logical]["module"] = module
    return links, cache


def _is_module(src: SourceFile) -> bool:
    from assetpipe.js_references import is_module
    with open(src.abs_path, "rb") as f:
        return is_module(f.read().decode("utf-8", "replace"))


def _recheck(link: Link, known: set[str]) -> Link:
    """A cached link judged again: its file is unchanged, but its target may
    have been added or deleted since the last build."""
    if link.problem == "escapes":
        return link
    problem = None if link.target in known else "missing"
    return link if problem == link.problem else replace(link, problem=problem)


def _scan_file(src: SourceFile, known: set[str], policy: RefPolicy, memo_for) -> list[Link]:
    try:
        with open(src.abs_path, "rb") as f:
            data = f.read()
        text = data.decode("utf-8").removeprefix("\ufeff")
    except (OSError, UnicodeDecodeError):
        return []  # the transform stage reports unreadable / non-UTF-8 files
    memo = memo_for(src.logical_path, data) if memo_for else None
    found = (resolve_link(src.logical_path, ref, known, policy)
             for ref in scan(src.logical_path, text, keeps_sourcemap=True, memo=memo))
    return [link for link in found if link is not None]


def plan_links(logical: str, members: list[str], is_bundle: bool,
               links: dict[str, list[Link]], settings: Settings) -> list[Link]:
    """The links that matter for one output: sourcemap comments only survive
    in a single file copied unminified (the contract's source-map rule);
    and a member's own map is a dependency when the output's map ([sourcemaps])
    is composed through it (sourcemap.through_input_map), so a changed,
    deleted or added input map rebuilds the output like any reference would.
    A prehashed file is copied as it is: its references are left alone."""
    if not is_bundle and is_prehashed(logical, settings.versioning.prehashed):
        return []
    composes = makes_map(logical, is_bundle, settings)
    out: list[Link] = []
    for member in members:
        keeps_map = ((not is_bundle and not minifies(member, settings))
                     or (composes and through_input_map(logical, member)))
        out.extend(link for link in links.get(member, ())
                   if keeps_map or link.kind != "sourcemap")
    return out


def misplaced_imports(plans: dict[str, list[str]], sources: dict[str, SourceFile],
                      links: dict[str, list[Link]]) -> list[str]:
    """Warnings for @import in a CSS bundle member after the first: once
    concatenated it is no longer at the top, and browsers ignore it."""
    warnings = []
    for name, members in plans.items():
        if name in sources:
            continue
        for member in members[1:]:
            for link in links.get(member, ()):
                if link.kind == "import":
                    warnings.append(f"{member}:{link.line}: @import {link.url!r} ends up inside "
                                    f"bundle {name!r}, where browsers ignore it; list the "
                                    "imported file in the bundle instead")
    return warnings
