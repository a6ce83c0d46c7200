"""Which sources changed since the last build, without reading every stored stat.

The sorted source list is cut into runs: maximal stretches of consecutive
paths in one folder (a folder with a subfolder in the middle of its names
gives two).  The store keeps one digest per run, keyed by the run's first
path, beside the per-file stats.  A build digests its own runs (names and
stat numbers, hashed in C), and only where a digest differs -- a run of
this build that the store lacks, or a stored run this build lacks -- does
it read the stored stats, of that stretch of paths only.

Why that is exact: the runs of each side partition the path space into
ranges [first, next first).  A path outside every differing range sits in a
run both sides have with the same digest, i.e. the same names and the same
stats; so every path whose stat moved, appeared or disappeared is inside a
range that is compared row by row.
"""
from __future__ import annotations

import hashlib
from array import array
from bisect import bisect_left
from dataclasses import dataclass, field
from itertools import chain, compress
from operator import itemgetter, le, methodcaller, ne

_SPLIT, _FIRST = methodcaller("rpartition", "/"), itemgetter(0)
# A SourceFile's (logical path, size, mtime, inode), and its numbers: picked in C.
STAT_ROW = itemgetter(0, 2, 3, 4)
NUMBERS = itemgetter(2, 3, 4)


@dataclass
class Delta:
    """Sources changed since the stored state, and the run digests to store."""

    changed: set[str]                    # stat moved, or added
    gone: set[str]                       # removed
    stats: dict[str, tuple]              # (size, mtime, inode) of `changed`
    new_runs: dict[str, bytes] = field(default_factory=dict)   # first path -> digest
    old_runs: set[str] = field(default_factory=set)            # stored keys to delete


def source_delta(store, sources: dict) -> Delta:
    keys = list(sources)       # sorted by the walk (sources.scan_sources)
    if not all(map(le, keys, keys[1:])):
        raise ValueError("sources are not sorted by path")
    runs = _runs(keys, sources)
    stored = store.runs()
    new_runs = {first: digest for first, digest, _, _ in runs if stored.get(first) != digest}
    current = {first: digest for first, digest, _, _ in runs}
    old_runs = {first for first, digest in stored.items() if current.get(first) != digest}
    ranges = (_ranges([r[0] for r in runs], new_runs)
              + _ranges(sorted(stored), old_runs))
    previous: set[tuple] = set()
    mine: set[tuple] = set()
    for low, high in _merged(ranges):
        previous |= store.source_stats(low, high)
        start, end = bisect_left(keys, low), len(keys) if high is None else bisect_left(keys, high)
        mine |= set(map(STAT_ROW, (sources[k] for k in keys[start:end])))
    changed = {row[0] for row in mine - previous}
    gone = {row[0] for row in previous - mine} - sources.keys()
    return Delta(changed, gone, {name: sources[name][2:] for name in changed},
                 new_runs, old_runs)


def _runs(keys: list[str], sources: dict) -> list[tuple[str, bytes, int, int]]:
    """(first path, digest, start, end) of each run of `keys` (list(sources))."""
    # In C: the folder of each path, and the indices where it differs from the last.
    folders = list(map(_FIRST, map(_SPLIT, keys)))
    starts = list(compress(range(1, len(keys)), map(ne, folders[1:], folders)))
    bounds = list(zip([0, *starts], [*starts, len(keys)], strict=True)) if keys else []
    try:
        numbers = array("q", chain.from_iterable(map(NUMBERS, sources.values())))
        width = 3 * numbers.itemsize
        blob = numbers.tobytes()
    except OverflowError:   # an inode beyond 2**63 or a date before 1678: text then
        rows = [repr(NUMBERS(sources[k])).encode() for k in keys]
        return [(keys[a], _digest(keys[a:b], b"\0".join(rows[a:b])), a, b) for a, b in bounds]
    return [(keys[a], _digest(keys[a:b], blob[a * width:b * width]), a, b) for a, b in bounds]


def _digest(names: list[str], numbers: bytes) -> bytes:
    h = hashlib.blake2b("\0".join(names).encode("utf-8", "surrogateescape"), digest_size=16)
    h.update(numbers)
    return h.digest()


def _ranges(firsts: list[str], picked) -> list[tuple[str, str | None]]:
    """[first, next first) of each picked run (None: to the end)."""
    return [(first, firsts[i + 1] if i + 1 < len(firsts) else None)
            for i, first in enumerate(firsts) if first in picked]


def _merged(ranges: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    """Overlapping or touching ranges joined (fewer queries)."""
    merged: list[tuple[str, str | None]] = []
    for low, high in sorted(ranges, key=lambda r: r[0]):
        if merged and (merged[-1][1] is None or merged[-1][1] >= low):
            last_high = merged[-1][1]
            merged[-1] = (merged[-1][0], None if None in (last_high, high)
                          else max(last_high, high))   # type: ignore[type-var]
        else:
            merged.append((low, high))
    return merged
