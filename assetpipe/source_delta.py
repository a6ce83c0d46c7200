"""Which sources changed since the last build, without reading every stored stat.

The sorted source list comes cut into runs: the stretches of consecutive
paths the walk listed together in one folder (sources.Run: a subfolder or a
link to a file between a folder's names starts a new one).  The store
keeps one digest per run, keyed by the run's first path, beside the
per-file stats.  A build digests its own runs (names and
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
from bisect import bisect_left
from dataclasses import dataclass, field
from operator import itemgetter, le

from assetpipe.sources import Run, Scan, SourceFile

# A SourceFile's (logical path, size, mtime, inode): picked in C.
STAT_ROW = itemgetter(0, 2, 3, 4)


@dataclass
class Delta:
    """Sources changed since the stored state, and the run digests to store."""

    changed: set[str]                    # stat moved, or added
    gone: set[str]                       # removed
    stats: dict[str, tuple]              # (size, mtime, inode) of `changed`
    new_runs: dict[str, bytes] = field(default_factory=dict)   # first path -> digest
    old_runs: set[str] = field(default_factory=set)            # stored keys to delete


def source_delta(store, found: Scan, sources: dict[str, SourceFile]) -> Delta:
    """`sources` is `found.files()`."""
    keys = list(sources)       # sorted by the walk (sources.scan)
    if not all(map(le, keys, keys[1:])):
        raise ValueError("sources are not sorted by path")
    runs = _runs(found)
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


def _runs(found: Scan) -> list[tuple[str, bytes, int, int]]:
    """(first path, digest, start, end) of each run the walk listed."""
    packed, width = found.packed_numbers, 24   # three 8-byte integers a file
    runs = []
    start = 0
    for run in found.runs:
        end = start + len(run.names)
        numbers = (repr(found.numbers[3 * start:3 * end]).encode() if packed is None
                   else packed[start * width:end * width])
        runs.append((run.prefix + run.names[0], _digest(run, numbers), start, end))
        start = end
    return runs


def _digest(run: Run, numbers: bytes) -> bytes:
    names = "\0".join((run.prefix, *run.names))
    h = hashlib.blake2b(names.encode("utf-8", "surrogateescape"), digest_size=16)
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
