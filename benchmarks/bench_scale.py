"""Cost of a build as the site grows: cold, no-op and one-file edit at 5k-100k files.

    python benchmarks/bench_scale.py [--sizes 5000 20000 100000] [--refs 100000]
                                     [--repo DIR] [--work DIR] [--runs N] [--edits N]

Generates sites of small CSS/JS/SVG/text files (a quarter of each, 100 files
per folder, deterministic content), and with `--refs` a variant where 5% of
the files are stylesheets whose url()s name SVGs in other folders, then runs
`python -m assetpipe build` (default config: minify, gzip twins) as a
subprocess, so interpreter start-up is part of every figure, exactly as a
release script or `build --watch` user sees it.

Prints, per site, as wall/CPU seconds (CPU: user + system of the build
process, the figure to compare on a loaded machine; the pool workers of a
cold build are children of multiprocessing's forkserver, which the build
never waits for, so a cold build's CPU leaves out theirs — no-op and one-edit
builds run inline, and their CPU is complete; from 10,000 files they stat
the sources in two processes, assetpipe/stat_split.py, so their CPU is the
sum over both cores and exceeds the wall on a quiet machine): cold seconds (and ms per
file), the best no-op of `--runs`,
the median of `--edits` one-file edits (one JS file's text changed each
time), the state size (the tool's own folder: cache, fingerprint — not the
history or the PNG cache), the manifest size, and the ratio one-edit / no-op.
The issue's targets: at 100k, no-op <= 0.5 s, edit <= 1.0 s and <= 3x the
no-op, cold per file no worse than at 5k; at 20k, no-op <= 0.25 s, edit <= 0.5 s.

`--repo DIR` times another checkout's code (PYTHONPATH=DIR), so the same
generated sites measure before and after; `--work DIR` keeps them between runs.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PER_FOLDER = 100
KINDS = ("js", "css", "svg", "txt")
WORDS = ("alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta")


def _text(kind: str, i: int, rng: random.Random) -> str:
    words = " ".join(rng.choice(WORDS) for _ in range(12))
    if kind == "js":
        return (f"/* module {i}: {words} */\nfunction f{i}(value) {{\n"
                f"  var total = {rng.randrange(10**6)};\n  return value + total; // {words}\n}}\n")
    if kind == "css":
        return (f"/* sheet {i}: {words} */\n.c{i} {{\n  color: #{rng.randrange(16**6):06x};\n"
                f"  margin: {rng.randrange(40)}px;\n}}\n")
    if kind == "svg":
        return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><!-- {words} -->'
                f'<circle cx="8" cy="8" r="{rng.randrange(1, 8)}"/></svg>\n')
    return f"note {i}: {words}\n" * 3


def _rel(i: int) -> str:
    return f"d{i // PER_FOLDER:04d}/f{i:06d}.{KINDS[i % 4]}"


def _refs_css(i: int, count: int, rng: random.Random) -> str:
    """A stylesheet naming three SVGs (kind index 2) in other folders."""
    rules = []
    for n in range(3):
        target = rng.randrange(count // 4) * 4 + 2
        rules.append(f".r{i}-{n} {{ background: url(../{_rel(target)}); }}")
    return f"/* sheet {i} */\n" + "\n".join(rules) + "\n"


def generate(folder: str, count: int, refs: bool) -> None:
    """`count` files under folder/static; with `refs`, 5% are referencing stylesheets."""
    rng = random.Random(count * 2 + refs)
    for i in range(count):
        path = os.path.join(folder, "static", _rel(i))
        if i % PER_FOLDER == 0:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        referencing = refs and i % 20 == 1   # i % 4 == 1: a .css file; 1 in 20 files
        with open(path, "w") as f:
            f.write(_refs_css(i, count, rng) if referencing else _text(KINDS[i % 4], i, rng))
    with open(os.path.join(folder, "assetpipe.toml"), "w") as f:
        f.write('source = "static"\noutput = "out"\nurl_prefix = "/static/"\n')


def timed(cmd: list[str], env: dict, cwd: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run.  CPU = user + system of the
    build process: on a shared, loaded machine the wall time mostly measures
    the run queue, the CPU time the work."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return elapsed, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def folder_bytes(folder: str, skip: tuple[str, ...] = ()) -> int:
    total = 0
    for path, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in skip]
        total += sum(os.lstat(os.path.join(path, name)).st_size for name in files)
    return total


def state_folder(site: str) -> str:
    """The tool's own folder, wherever the timed checkout keeps it (`state_dir`,
    or `<output>/.assetpipe/` in releases before it)."""
    probe = [sys.executable, "-c",
             "import os; from assetpipe.config import load_config; "
             "c = load_config('assetpipe.toml'); "
             "print(getattr(c, 'state_dir', None) or os.path.join(c.output, '.assetpipe'))"]
    return subprocess.run(probe, env=_env(ARGS.repo), cwd=site, capture_output=True,
                          text=True, check=True).stdout.strip()


def _env(repo: str) -> dict:
    return dict(os.environ, PYTHONPATH=os.path.abspath(repo))


def measure(site: str, count: int, runs: int, edits: int) -> dict:
    env = _env(ARGS.repo)
    shutil.rmtree(os.path.join(site, "out"), ignore_errors=True)
    shutil.rmtree(os.path.join(site, ".assetpipe"), ignore_errors=True)   # state beside the config
    cmd = [sys.executable, "-m", "assetpipe", "build", "--config", "assetpipe.toml", "--quiet"]
    cold = timed(cmd, env, site)
    noops = [timed(cmd, env, site) for _ in range(runs)]
    edited = os.path.join(site, "static", _rel(count // 2 // 4 * 4))   # a JS file mid-site
    with open(edited) as f:
        original = f.read()
    times = []
    try:
        for n in range(edits):
            with open(edited, "w") as f:
                f.write(original + f"var edit{n} = {n};\n")
            times.append(timed(cmd, env, site))
    finally:
        with open(edited, "w") as f:
            f.write(original)
    out = os.path.join(site, "out")
    state = folder_bytes(state_folder(site), skip=("history", "png"))
    return {"cold": cold, "noop": tuple(min(t[i] for t in noops) for i in (0, 1)),
            "edit": tuple(statistics.median(t[i] for t in times) for i in (0, 1)),
            "state": state, "manifest": os.path.getsize(os.path.join(out, "manifest.json"))}


# The issue's targets, seconds: (site, figure) -> limit.  Checked on wall
# time (what a user waits) and on CPU (what a loaded machine can still show).
TARGETS = {(100000, "noop"): 0.5, (100000, "edit"): 1.0, (20000, "noop"): 0.25,
           (20000, "edit"): 0.5}


def verdicts(count: int, refs: bool, r: dict, per_file_5k: float | None) -> list[str]:
    """One line per target this site has: MET / NOT MET, wall and CPU."""
    label = f"{count:,}{' refs' if refs else ''}"
    lines = []
    for figure, what in (("noop", "no-op"), ("edit", "one edit")):
        limit = TARGETS.get((count, figure))
        if limit is not None:
            wall, cpu = r[figure]
            lines.append(f"{label}: {what} <= {limit} s: wall {wall:.2f} s "
                         f"{'MET' if wall <= limit else 'NOT MET'}, CPU {cpu:.2f} s "
                         f"{'MET' if cpu <= limit else 'NOT MET'}")
    if count == 100000:
        ratio = r["edit"][0] / r["noop"][0]
        lines.append(f"{label}: one edit <= 3x no-op: {ratio:.2f}x "
                     f"{'MET' if ratio <= 3 else 'NOT MET'} (wall)")
        if per_file_5k is not None:
            per_file = r["cold"][0] / count
            lines.append(f"{label}: cold per file <= 5,000's: {1000 * per_file:.2f} vs "
                         f"{1000 * per_file_5k:.2f} ms "
                         f"{'MET' if per_file <= per_file_5k else 'NOT MET'} (wall)")
    return lines


def main() -> None:
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[5000, 20000, 100000])
    parser.add_argument("--refs", type=int, nargs="*", default=[100000],
                        help="sizes of the variant with 5%% referencing stylesheets")
    parser.add_argument("--repo", default=REPO, help="checkout whose code is timed")
    parser.add_argument("--work", help="keep generated sites here (reused when present)")
    parser.add_argument("--runs", type=int, default=3, help="no-op runs (best is kept)")
    parser.add_argument("--edits", type=int, default=3, help="one-file edits (median shown)")
    ARGS = parser.parse_args()
    work = ARGS.work or tempfile.mkdtemp(prefix="assetpipe-scale-")
    cases = [(n, False) for n in ARGS.sizes] + [(n, True) for n in ARGS.refs]
    print(f"code: {os.path.abspath(ARGS.repo)}  ({os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} at start)")
    print("seconds as wall/CPU; no-op: the best of --runs; edit: the median of --edits")
    print(f"{'site':<12} {'cold':>13} {'ms/file':>11} {'no-op':>11} {'one edit':>11} "
          f"{'edit/no-op':>11} {'state MB':>9} {'manifest MB':>11}")
    found: list[str] = []
    per_file_5k = None
    try:
        for count, refs in cases:
            site = os.path.join(work, f"{count}{'-refs' if refs else ''}")
            if not os.path.exists(os.path.join(site, "assetpipe.toml")):
                generate(site, count, refs)
            r = measure(site, count, ARGS.runs, ARGS.edits)
            label = f"{count:,}{' refs' if refs else ''}"
            (cold, cold_cpu), (noop, noop_cpu), (edit, edit_cpu) = r["cold"], r["noop"], r["edit"]
            print(f"{label:<12} {cold:6.1f}/{cold_cpu:6.1f} "
                  f"{1000 * cold / count:5.2f}/{1000 * cold_cpu / count:5.2f} "
                  f"{noop:5.2f}/{noop_cpu:5.2f} {edit:5.2f}/{edit_cpu:5.2f} "
                  f"{edit / noop:5.2f}/{edit_cpu / noop_cpu:5.2f} {r['state'] / 1e6:9.2f} "
                  f"{r['manifest'] / 1e6:11.2f}", flush=True)
            if count == 5000 and not refs:
                per_file_5k = cold / count
            found += verdicts(count, refs, r, per_file_5k)
    finally:
        print(f"\nverdicts (load average {os.getloadavg()[0]:.1f} at the end; "
              "on a loaded machine only the CPU figures mean much):")
        for line in found:
            print("  " + line)
        if not ARGS.work:
            shutil.rmtree(work, ignore_errors=True)


ARGS: argparse.Namespace

if __name__ == "__main__":
    main()
