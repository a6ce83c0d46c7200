"""Compare assetpipe's PNG stage with optipng -o2 and Pillow optimize=True.

    python benchmarks/bench_png.py [CORPUS_DIR] [--repeat N]

Every *.png under CORPUS_DIR (default $ASSETPIPE_CORPUS, else
~/.cache/assetpipe/corpus) is optimised by each engine using 2 processes;
wall times are the best of N runs (the machine is shared). Prints a table and
whether the issue's targets are met: >= 7% saved, never less than optipng -o2
saved, in <= 0.5x optipng's wall time.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from io import BytesIO
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from assetpipe.images import optimize_png, png_settings_key  # noqa: E402

JOBS = 2
TARGET_SAVED = 7.0
TARGET_TIME_RATIO = 0.5


def _assetpipe_one(data: bytes) -> int:
    return len(optimize_png(data).content)


def _pillow_one(data: bytes) -> tuple[int, bool]:
    """Pillow's size and whether it changed the pixels (Pillow writes 16-bit
    RGB(A) as 8-bit, which the RGBA comparison alone cannot see)."""
    with Image.open(BytesIO(data)) as im:
        out = BytesIO()
        im.save(out, "PNG", optimize=True)
        before = (im.mode, im.size, im.convert("RGBA").tobytes(), data[24] == 16)
    new = out.getvalue()
    with Image.open(BytesIO(new)) as im:
        after = (im.mode, im.size, im.convert("RGBA").tobytes(), new[24] == 16)
    return len(new), before != after


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_pool(fn, blobs):
    """Wall and CPU seconds of a spawn pool, pool start-up included."""
    start, cpu = time.perf_counter(), children_cpu()
    with ProcessPoolExecutor(JOBS, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(fn, blobs, chunksize=4))
    return results, time.perf_counter() - start, children_cpu() - cpu


def run_optipng(paths: list[Path]) -> tuple[list[int], float]:
    """optipng -o2 over copies, JOBS processes each taking every JOBS-th file."""
    with tempfile.TemporaryDirectory() as tmp:
        copies = [Path(tmp, f"{i}.png") for i in range(len(paths))]
        for src, dst in zip(paths, copies):
            shutil.copyfile(src, dst)
        start, cpu = time.perf_counter(), children_cpu()
        procs = [subprocess.Popen(["optipng", "-quiet", "-o2", *map(str, copies[j::JOBS])]) for j in range(JOBS)]
        if any(p.wait() for p in procs):
            raise SystemExit("optipng failed")
        seconds = time.perf_counter() - start
        return [c.stat().st_size for c in copies], seconds, children_cpu() - cpu


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("ASSETPIPE_CORPUS") or Path.home() / ".cache/assetpipe/corpus"
    parser.add_argument("corpus", nargs="?", default=default, type=Path)
    parser.add_argument("--repeat", type=int, default=2, help="timing runs per engine (best is kept)")
    args = parser.parse_args(argv)
    # Largest first, so no engine finishes with one worker idle on a big file.
    paths = sorted(args.corpus.rglob("*.png"), key=lambda p: (-p.stat().st_size, p))
    if not paths or not shutil.which("optipng"):
        raise SystemExit(f"need PNGs under {args.corpus} and optipng on PATH")
    blobs = [p.read_bytes() for p in paths]
    before = [len(b) for b in blobs]
    rows, sizes, times, cpus = [], {}, {}, {}
    for _ in range(args.repeat):  # interleave engines so load spikes hit each
        for name, run in (("assetpipe", lambda: run_pool(_assetpipe_one, blobs)), ("optipng -o2", lambda: run_optipng(paths))):
            sizes[name], wall, cpu = run()
            times[name], cpus[name] = min(wall, times.get(name, wall)), min(cpu, cpus.get(name, cpu))
    pillow, times["pillow optimize"], cpus["pillow optimize"] = run_pool(_pillow_one, blobs)
    sizes["pillow optimize"] = [n for n, _ in pillow]
    changed = {"pillow optimize": sum(c for _, c in pillow), "assetpipe": 0, "optipng -o2": None}

    total = sum(before)
    print(f"{len(paths)} PNGs, {total} bytes, {JOBS} processes, best of {args.repeat}; {png_settings_key()}")
    print(f"{'engine':<16} {'files':>5} {'before':>9} {'after':>9} {'saved':>7} {'larger':>6} {'changed':>7} {'wall s':>7} {'vs optipng':>10} {'cpu s':>6} {'cpu vs':>6}")
    for name in ("assetpipe", "optipng -o2", "pillow optimize"):
        after = sum(sizes[name])
        larger = sum(a > b for a, b in zip(sizes[name], before))
        ratio = times[name] / times["optipng -o2"]
        shown = "n/a" if changed[name] is None else changed[name]
        rows.append((name, 100 * (total - after) / total, ratio))
        print(f"{name:<16} {len(paths):>5} {total:>9} {after:>9} {rows[-1][1]:>6.2f}% {larger:>6} {shown!s:>7} {times[name]:>7.2f} {ratio:>9.2f}x {cpus[name]:>6.1f} {cpus[name] / cpus['optipng -o2']:>5.2f}x")

    ours, opti = sizes["assetpipe"], sizes["optipng -o2"]
    behind = [(p, a - o) for p, a, o in zip(paths, ours, opti) if a > o]
    print(f"per file: assetpipe smaller than optipng on {sum(a < o for a, o in zip(ours, opti))}, "
          f"equal on {sum(a == o for a, o in zip(ours, opti))}, larger on {len(behind)} "
          f"(by {sum(d for _, d in behind)} bytes in all)")
    saved, ratio = rows[0][1], rows[0][2]
    checks = {
        f"saved >= {TARGET_SAVED}%": saved >= TARGET_SAVED,
        "saved >= optipng -o2 on the set": sum(ours) <= sum(opti),
        f"wall <= {TARGET_TIME_RATIO}x optipng -o2": ratio <= TARGET_TIME_RATIO,
    }
    for name, ok in checks.items():
        print(f"target {name}: {'met' if ok else 'NOT met'}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
