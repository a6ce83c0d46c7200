"""Cost of [sourcemaps]: cold builds of the public corpus, maps off vs on, interleaved.

    python benchmarks/bench_sourcemaps.py [--corpus DIR] [--runs N]

Each run builds the corpus into a fresh output folder (and state folder)
with `[sourcemaps] enabled = false`, then `= true`, alternating so load on
a shared machine hits both alike; PNG recompression is off so the number
isolates the text work.  Prints each pair, the medians and the ratio (the
issue's target: maps on <= 1.25x maps off).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cold_build(corpus: str, maps: bool) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-maps-") as work:
        config = os.path.join(work, "assetpipe.toml")
        with open(config, "w") as f:
            f.write(f'source = "{corpus}"\noutput = "out"\n[images]\npng = "off"\n'
                    f"[sourcemaps]\nenabled = {'true' if maps else 'false'}\n")
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "assetpipe", "build", "--config", config, "-q"],
                       check=True, cwd=REPO)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=os.environ.get(
        "ASSETPIPE_CORPUS", os.path.expanduser("~/.cache/assetpipe/corpus")))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    off, on = [], []
    for run in range(args.runs):
        pair = (False, True) if run % 2 == 0 else (True, False)
        for maps in pair:
            (on if maps else off).append(cold_build(args.corpus, maps))
        print(f"run {run + 1}: maps off {off[-1]:.2f} s, maps on {on[-1]:.2f} s")
    a, b = statistics.median(off), statistics.median(on)
    print(f"median cold build: maps off {a:.2f} s, maps on {b:.2f} s, ratio {b / a:.2f}x "
          "(target <= 1.25x)")


if __name__ == "__main__":
    main()
