"""Benchmark the shared remote cache on moto_server: cold builds of the public
corpus with an empty remote and with a warm one, against no remote at all.

Each round, interleaved so that the load of a shared machine falls on all
three alike, runs `assetpipe build --json` in a fresh process and a fresh
output folder (so a fresh local cache):

  plain  no [cache] remote: the anchor
  push   an empty bucket: computes everything, then pushes it
  warm   the bucket the push run filled: fetches everything

Targets: warm <= 0.3x push (the time a fresh CI runner pays), and push <=
1.15x plain (what pushing costs the first build).  On a machine shared with
other work one column's spread can exceed either effect, so besides the
ratio of the column medians it prints each round's own ratios (its three
builds ran back to back), the CPU seconds of every build (the whole process
tree, pool workers included: this process is their subreaper), the load
average around each build, the push phase's own share of its build (timed
inside it), and a no-op rebuild of the warm output (it only stats files).
The verdict line for each target is printed last; exit status 1 when a
target is missed.

With `--warm-jobs N` each round also runs the warm build with `--jobs N`
(column warm-jN, informative only): on a warm remote the jobs only read
and write files, and whether worker processes then pay for themselves
depends on the machine.

    python benchmarks/bench_cache.py [--corpus DIR] [--rounds N] [--jobs N] [--warm-jobs N]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.join(HERE, "..")
sys.path.insert(0, os.path.join(REPO, "tests"))

from s3server import apply_dummy_credentials, moto_server  # noqa: E402

DEFAULT_CORPUS = os.path.expanduser("~/.cache/assetpipe/corpus")
KINDS = ("png", "min", "gzip", "br", "scan")
COLUMNS = (("plain", False, None), ("push", True, None), ("warm", True, None))
PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    """Linux: orphaned descendants (the pool's forkserver, which reaps the
    workers) are re-parented to this process, so reaping them here adds their
    CPU time to RUSAGE_CHILDREN."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def children() -> set[int]:
    pids: set[int] = set()
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as f:
            pids.update(int(p) for p in f.read().split())
    return pids


def reap_orphans(keep: set[int]) -> None:
    """Wait for every child except `keep` (moto_server): orphans adopted from a build."""
    for pid in children() - keep:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def write_config(folder: str, corpus: str, remote: str | None, endpoint: str) -> str:
    text = f'source = "{corpus}"\noutput = "out"\n[compress]\nbrotli = true\n'
    if remote:
        text += f'[cache]\nremote = "{remote}"\nendpoint_url = "{endpoint}"\nbudget = 60\n'
    config = os.path.join(folder, "assetpipe.toml")
    with open(config, "w") as f:
        f.write(text)
    return config


def timed_build(config: str, jobs: int | None, keep: set[int]) -> tuple[float, float, dict]:
    """One `assetpipe build --json` in a fresh process: (wall s, CPU s, report)."""
    args = [sys.executable, "-m", "assetpipe", "build", "--json", "--config", config]
    if jobs:
        args += ["--jobs", str(jobs)]
    cpu = cpu_seconds()
    started = time.perf_counter()
    result = subprocess.run(args, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=REPO))
    seconds = time.perf_counter() - started
    reap_orphans(keep)
    if result.returncode != 0:
        raise SystemExit(f"{config}: build failed: {result.stderr}")
    return seconds, cpu_seconds() - cpu, json.loads(result.stdout)


def describe(report: dict) -> str:
    cache = report["cache"]
    counts = " ".join(f"{k} {cache[k]['computed']}/{cache[k]['remote']}" for k in KINDS
                      if k in cache)
    remote = cache.get("remote")
    moved = (f"  fetched {remote['fetched_bytes'] / 1e6:.1f} MB in {remote['seconds_fetch']:.2f} s,"
             f" pushed {remote['pushed_bytes'] / 1e6:.1f} MB in {remote['seconds_push']:.2f} s"
             if remote else "")
    return f"computed/remote-hit: {counts}{moved}"


def run_round(n: int, workdir: str, corpus: str, client, url: str, jobs: int | None,
              columns: tuple, keep: set[int]) -> dict[str, tuple[float, float, dict]]:
    """plain, push and warm back to back (fresh folders each); then a no-op
    rebuild of the warm output.  Returns column -> (wall s, CPU s, report)."""
    bucket = f"bench-cache-{n}"
    client.create_bucket(Bucket=bucket)
    row = {}
    for column, remote, column_jobs in columns:
        folder = os.path.join(workdir, f"{column}{n}")
        os.makedirs(folder)
        config = write_config(folder, corpus, f"s3://{bucket}/ci" if remote else None, url)
        load = os.getloadavg()[0]
        row[column] = timed_build(config, column_jobs or jobs, keep)
        seconds, cpu, report = row[column]
        print(f"round {n + 1} {column:5} {seconds:7.2f} s wall {cpu:7.2f} s CPU  load "
              f"{load:4.1f}->{os.getloadavg()[0]:4.1f}  {describe(report)}", flush=True)
    noop, _, report = timed_build(os.path.join(workdir, f"warm{n}", "assetpipe.toml"), jobs, keep)
    print(f"round {n + 1} no-op {noop:7.3f} s wall (noop={report['noop']})", flush=True)
    return row


def verdict(name: str, ratio: float, target: float, rounds: list[float]) -> bool:
    ok = ratio <= target
    per_round = ", ".join(f"{r:.3f}" for r in rounds)
    print(f"{name} = {ratio:.3f}x  (target <= {target:.2f}x: {'MET' if ok else 'MISSED'})  "
          f"per round: {per_round}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int)
    parser.add_argument("--warm-jobs", type=int, help="also time the warm build with --jobs N")
    args = parser.parse_args()
    columns = COLUMNS + ((f"warm-j{args.warm_jobs}", True, args.warm_jobs),) \
        if args.warm_jobs else COLUMNS
    apply_dummy_credentials()
    become_subreaper()
    import boto3
    rows = []
    with tempfile.TemporaryDirectory() as workdir, moto_server() as url:
        keep = children()   # moto_server
        client = boto3.client("s3", endpoint_url=url)
        rows = [run_round(n, workdir, args.corpus, client, url, args.jobs, columns, keep)
                for n in range(args.rounds)]
    wall = {c: statistics.median(r[c][0] for r in rows) for c, _, _ in columns}
    cpu = {c: statistics.median(r[c][1] for r in rows) for c, _, _ in columns}
    share = statistics.median(r["push"][2]["cache"]["remote"]["seconds_push"] / r["push"][0]
                              for r in rows)
    print(f"\nmedian wall s: plain {wall['plain']:.2f}  push {wall['push']:.2f}  "
          f"warm {wall['warm']:.2f}")
    print(f"median CPU s:  plain {cpu['plain']:.2f}  push {cpu['push']:.2f}  "
          f"warm {cpu['warm']:.2f}  (warm / push CPU {cpu['warm'] / cpu['push']:.3f}x)")
    for column, _, column_jobs in columns[len(COLUMNS):]:
        print(f"{column} (warm, --jobs {column_jobs}): median wall {wall[column]:.2f} s, CPU "
              f"{cpu[column]:.2f} s: {wall[column] / wall['push']:.3f}x push (informative)")
    print(f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; the push "
          f"phase itself is {share:.1%} of its build (median)")
    ok = verdict("warm / push ", wall["warm"] / wall["push"], 0.30,
                 [r["warm"][0] / r["push"][0] for r in rows])
    ok = verdict("push / plain", wall["push"] / wall["plain"], 1.15,
                 [r["push"][0] / r["plain"][0] for r in rows]) and ok
    print("VERDICT: both targets met" if ok else "VERDICT: TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
