"""Cost of [sourcemaps]: cold builds of the public corpus, maps off vs on, interleaved.

    python benchmarks/bench_sourcemaps.py [--corpus DIR] [--runs N]

Each run builds the corpus into a fresh output folder (and state folder)
with `[sourcemaps] enabled = false`, then `= true`, alternating so load on
a shared machine hits both alike; PNG recompression is off so the number
isolates the text work.  With maps on, every minified stylesheet and script
(~80 + ~2,700 files) gets a map.  Prints each pair, the medians and the
ratios (the issue's target: maps on <= 1.25x maps off) of the wall time and
of the CPU time the build used (user + system, getrusage(RUSAGE_CHILDREN)).
The build's pool runs under a forkserver whose workers are not reaped by
it, so the CPU time is only complete with `--workers 1` (every job inline
in one process): that is the steadier measure of the work maps add on a
shared machine; the default (one worker per core) is the wall time users see.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cold_build(corpus: str, maps: bool, workers: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one cold build."""
    with tempfile.TemporaryDirectory(prefix="bench-maps-") as work:
        config = os.path.join(work, "assetpipe.toml")
        with open(config, "w") as f:
            f.write(f'source = "{corpus}"\noutput = "out"\n[images]\npng = "off"\n'
                    f"[sourcemaps]\nenabled = {'true' if maps else 'false'}\n")
        cpu = _children_cpu()
        started = time.perf_counter()
        code = ("import sys; from assetpipe.build import build; from assetpipe.config import "
                f"load_config; build(load_config(sys.argv[1]), workers={workers})")
        subprocess.run([sys.executable, "-c", code, config], check=True, cwd=REPO)
        return time.perf_counter() - started, _children_cpu() - cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)   # waited-for children, pool included
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=os.environ.get(
        "ASSETPIPE_CORPUS", os.path.expanduser("~/.cache/assetpipe/corpus")))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="build workers (1: inline, the CPU time complete)")
    args = parser.parse_args()
    off: list[tuple[float, float]] = []
    on: list[tuple[float, float]] = []
    for run in range(args.runs):
        pair = (False, True) if run % 2 == 0 else (True, False)
        for maps in pair:
            (on if maps else off).append(cold_build(args.corpus, maps, args.workers))
        print(f"run {run + 1}: maps off {off[-1][0]:.2f} s ({off[-1][1]:.2f} s CPU), "
              f"maps on {on[-1][0]:.2f} s ({on[-1][1]:.2f} s CPU)")
    for label, k in (("wall", 0), ("CPU", 1)):
        a, b = statistics.median(t[k] for t in off), statistics.median(t[k] for t in on)
        print(f"median cold build ({label}): maps off {a:.2f} s, maps on {b:.2f} s, "
              f"ratio {b / a:.2f}x (target <= 1.25x)")


if __name__ == "__main__":
    main()
