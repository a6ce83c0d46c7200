"""Benchmark the shared remote cache on moto_server: cold builds of the public
corpus with an empty remote and with a warm one, against no remote at all.

Each round, interleaved so that the load of a shared machine falls on all
three alike, runs `assetpipe build --json` in a fresh process and a fresh
output folder (so a fresh local cache):

  plain  no [cache] remote: the anchor
  push   an empty bucket: computes everything, then pushes it
  warm   the bucket the push run filled: fetches everything

Targets: warm <= 0.3x push (the time a fresh CI runner pays), and push <=
1.15x plain (what pushing costs the first build).  Ratios are of the median
of each column; on a machine shared with other work the columns' spread can
exceed the push's cost, so the push phase's own share of its build (timed
inside that build) is printed too.  Exit status 1 when a target is missed.

    python benchmarks/bench_cache.py [--corpus DIR] [--rounds N] [--jobs N]
"""
from __future__ import annotations

import argparse
import json
import os
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
KINDS = ("png", "min", "gzip", "br")


def timed_build(workdir: str, name: str, corpus: str, remote: str | None, endpoint: str,
                jobs: int | None) -> tuple[float, dict]:
    """One `assetpipe build --json` in a fresh process: (wall seconds, report)."""
    folder = os.path.join(workdir, name)
    os.makedirs(folder)
    text = f'source = "{corpus}"\noutput = "out"\n[compress]\nbrotli = true\n'
    if remote:
        text += f'[cache]\nremote = "{remote}"\nendpoint_url = "{endpoint}"\nbudget = 60\n'
    config = os.path.join(folder, "assetpipe.toml")
    with open(config, "w") as f:
        f.write(text)
    args = [sys.executable, "-m", "assetpipe", "build", "--json", "--config", config]
    if jobs:
        args += ["--jobs", str(jobs)]
    started = time.perf_counter()
    result = subprocess.run(args, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=REPO))
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{name}: build failed: {result.stderr}")
    return seconds, json.loads(result.stdout)


def describe(report: dict) -> str:
    cache = report["cache"]
    counts = " ".join(f"{k} {cache[k]['computed']}/{cache[k]['remote']}" for k in KINDS)
    remote = cache.get("remote")
    moved = (f"  fetched {remote['fetched_bytes'] / 1e6:.1f} MB in {remote['seconds_fetch']:.2f} s,"
             f" pushed {remote['pushed_bytes'] / 1e6:.1f} MB in {remote['seconds_push']:.2f} s"
             if remote else "")
    return f"computed/remote-hit: {counts}{moved}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int)
    args = parser.parse_args()
    apply_dummy_credentials()
    import boto3
    times: dict[str, list[float]] = {"plain": [], "push": [], "warm": []}
    push_share: list[float] = []
    with tempfile.TemporaryDirectory() as workdir, moto_server() as url:
        client = boto3.client("s3", endpoint_url=url)
        for n in range(args.rounds):
            bucket = f"bench-cache-{n}"
            client.create_bucket(Bucket=bucket)
            remote = f"s3://{bucket}/ci"
            for column, target in (("plain", None), ("push", remote), ("warm", remote)):
                seconds, report = timed_build(workdir, f"{column}{n}", args.corpus, target, url,
                                              args.jobs)
                times[column].append(seconds)
                if column == "push":
                    push_share.append(report["cache"]["remote"]["seconds_push"] / seconds)
                print(f"round {n + 1} {column:5} {seconds:7.2f} s  {describe(report)}",
                      flush=True)
    median = {column: statistics.median(values) for column, values in times.items()}
    warm_ratio, push_ratio = median["warm"] / median["push"], median["push"] / median["plain"]
    print(f"\nmedian s: plain {median['plain']:.2f}  push {median['push']:.2f}  "
          f"warm {median['warm']:.2f}  (load average {os.getloadavg()[0]:.1f})")
    print(f"warm / push  = {warm_ratio:.3f}x (target <= 0.30x)")
    print(f"push / plain = {push_ratio:.3f}x (target <= 1.15x); the push phase itself: "
          f"{statistics.median(push_share):.1%} of its build (median)")
    ok = warm_ratio <= 0.30 and push_ratio <= 1.15
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
