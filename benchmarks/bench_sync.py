"""Benchmark `assetpipe sync` to moto_server: a first run and a no-op run.

Builds the public corpus (default /root/.cache/assetpipe/corpus, png off)
into a temp folder, then syncs it to a fresh bucket through the recording
proxy from tests/s3server.py and prints requests by type and seconds.
Target: the no-op run makes 0 PUTs and at most ceil(objects / 1000) list
calls.  Exit status 1 when the target is missed.

    python benchmarks/bench_sync.py [--corpus DIR] [--jobs N]
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, os.path.join(HERE, ".."))

from assetpipe.build import build  # noqa: E402
from assetpipe.config import Sync, parse_config  # noqa: E402
from assetpipe.sync import SyncOptions, run_sync, scan_output  # noqa: E402
from s3server import RecordingProxy, apply_dummy_credentials, moto_server  # noqa: E402

DEFAULT_CORPUS = os.path.expanduser("~/.cache/assetpipe/corpus")


def build_corpus(corpus: str, workdir: str) -> str:
    config = parse_config({"source": corpus, "output": os.path.join(workdir, "out"),
                           "images": {"png": "off"}}, os.path.join(workdir, "assetpipe.toml"))
    started = time.perf_counter()
    report = build(config)
    print(f"build: {report.files} assets in {time.perf_counter() - started:.2f} s")
    return config.output


def timed_sync(options: SyncOptions, proxy: RecordingProxy, label: str) -> dict[str, int]:
    proxy.reset()
    report = run_sync(options)
    counts = proxy.counts()
    by_type = ", ".join(f"{op} {n}" for op, n in sorted(counts.items()))
    print(f"{label:8} {report.seconds:7.2f} s  uploaded {report.uploaded:6}  "
          f"skipped {report.skipped:6}  {report.bytes_uploaded / 1e6:7.2f} MB  "
          f"requests: {by_type}")
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    parser.add_argument("--jobs", type=int, default=8)
    args = parser.parse_args()
    apply_dummy_credentials()
    import boto3
    with tempfile.TemporaryDirectory() as workdir:
        output = build_corpus(args.corpus, workdir)
        objects = len(scan_output(output, Sync())[2])
        with moto_server() as url, RecordingProxy(url) as proxy:
            boto3.client("s3", endpoint_url=url).create_bucket(Bucket="bench-sync")
            options = SyncOptions(source=output, dest="s3://bench-sync/static",
                                  endpoint_url=proxy.url, jobs=args.jobs)
            print(f"objects: {objects} (list-call budget {math.ceil(objects / 1000)})")
            timed_sync(options, proxy, "first")
            noop = timed_sync(options, proxy, "no-op")
            started = time.perf_counter()
            pages = boto3.client("s3", endpoint_url=url).get_paginator("list_objects_v2")
            listed = sum(len(p.get("Contents", [])) for p in pages.paginate(Bucket="bench-sync"))
            print(f"baseline: bare listing of {listed} keys from moto_server "
                  f"{time.perf_counter() - started:.2f} s (the no-op run's floor)")
    ok = noop.get("put", 0) == 0 and noop.get("list", 0) <= math.ceil(objects / 1000)
    print("target met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
