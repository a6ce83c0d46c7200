"""Size budgets: `[budgets]` limits per logical name or glob, checked before publishing.

A release gate wants an over-budget build to publish nothing, so the build
checks the table after every asset is written (versioned files are inert
until a manifest names them) and before the plain copies and manifest.json
are replaced: on a breach the previous manifest stays in force and the
build exits 1.  Standard library only: it is parsed with the config.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from assetpipe.errors import BuildError, UsageError
from assetpipe.manifest import MANIFEST_NAME
from assetpipe.policy import glob_regex

# What a budget may limit: the file's own bytes, or the bytes a client that
# accepts that encoding receives (the twin, or the file when no twin was worth it).
KINDS = ("raw", "gzip", "br")
_UNITS = {"b": 1, "kb": 1000, "kib": 1024, "mb": 1000_000, "mib": 1024 * 1024}
_SIZE_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*")


@dataclass(frozen=True)
class Budget:
    pattern: str                 # a logical name or a glob (`*`, `?`, `**/`)
    limits: tuple[tuple[str, int], ...]   # (kind, bytes), kinds in KINDS order


class BudgetError(BuildError):
    """At least one asset is over its budget; nothing was published.  Carries
    every breach and the build's report (for `--json` and the table)."""

    def __init__(self, breaches: list[str], report):
        self.breaches, self.report = breaches, report
        super().__init__(f"{len(breaches)} size budget breach(es); nothing published, "
                         "the previous manifest.json is kept")


def parse_budgets(raw, gzip: bool, brotli: bool) -> tuple[Budget, ...]:
    """`[budgets] "js/*.js" = { raw = "150 kB", gzip = 50000 }` -> Budgets, sorted by pattern."""
    if not isinstance(raw, dict):
        raise UsageError("budgets: must be a table ([budgets])")
    enabled = {"raw": True, "gzip": gzip, "br": brotli}
    found = []
    for pattern, limits in sorted(raw.items()):
        where = f"budgets.{pattern!r}"
        if not isinstance(limits, dict) or not limits:
            raise UsageError(f"{where}: must be a table like {{ raw = \"150 kB\", gzip = 50000 }}")
        for kind in limits:
            if kind not in KINDS:
                raise UsageError(f"{where}.{kind}: unknown size kind (use {', '.join(KINDS)})")
            if not enabled[kind]:
                raise UsageError(f"{where}.{kind}: the build writes no {kind} twins "
                                 f"(enable it in [compress])")
        found.append(Budget(pattern.strip().removeprefix("./"), tuple(
            (kind, parse_size(f"{where}.{kind}", limits[kind]))
            for kind in KINDS if kind in limits)))
    return tuple(found)


def parse_size(key: str, value) -> int:
    """Bytes from an int or a string with a unit ("150 kB", "1.5 MiB")."""
    if type(value) is int and value >= 0:
        return value
    match = _SIZE_RE.fullmatch(value) if isinstance(value, str) else None
    unit = match.group(2).lower() or "b" if match else ""
    if not match or unit not in _UNITS:
        raise UsageError(f"{key}: {value!r} is not a size (bytes, or a string like \"150 kB\", "
                         "\"1.5 MiB\")")
    return int(float(match.group(1)) * _UNITS[unit])


def published_rows(budgets: tuple[Budget, ...], output: str) -> list[dict]:
    """The table of the published build (a no-op build reports it too):
    sizes from manifest.json, twin sizes by stat."""
    if not budgets:
        return []
    import json
    import os
    try:
        with open(os.path.join(output, MANIFEST_NAME), "rb") as f:
            assets = json.loads(f.read()).get("assets", {})
    except (OSError, ValueError):
        assets = {}
    sizes = {logical: {"raw": entry["size"], **{
        encoding: os.stat(os.path.join(output, twin)).st_size
        for encoding, twin in entry.get("encodings", {}).items()}}
        for logical, entry in assets.items()
        # not the Vite entries' second names: the build's table has each file once
        if not (entry.get("prehashed") and entry["path"] != logical)}
    return check(budgets, sizes)[0]


def check(budgets: tuple[Budget, ...], sizes: dict[str, dict[str, int]]) -> tuple[list, list]:
    """`sizes`: logical name -> {"raw": n, "gzip": n, "br": n}.  Returns (rows,
    breaches): a row per (asset, budget, kind), sorted; the breach messages.
    A glob budget limits each matching asset on its own."""
    rows, breaches = [], []
    for budget in budgets:
        regex = re.compile(glob_regex(budget.pattern) + r"\Z")
        matched = sorted(name for name in sizes if regex.match(name))
        if not matched:
            breaches.append(f"budget {budget.pattern!r} matches no asset (a typo would "
                            "let every asset through)")
        for name in matched:
            for kind, limit in budget.limits:
                size = sizes[name].get(kind, sizes[name]["raw"])
                rows.append({"asset": name, "budget": budget.pattern, "kind": kind,
                             "size": size, "limit": limit, "over": max(0, size - limit)})
                if size > limit:
                    breaches.append(f"{name}: {kind} {size:,} B is over its budget "
                                    f"{limit:,} B ({budget.pattern}) by {size - limit:,} B "
                                    f"(+{(size - limit) / max(limit, 1):.1%})")
    return rows, breaches
