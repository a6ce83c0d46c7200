"""The state-store choice: SQLite rows vs sharded JSON vs one JSON file.

    python benchmarks/bench_state_store.py [--records 100000] [--shards 256]

Each store holds `--records` build records shaped like assetpipe's (about
700 bytes of JSON each).  Timed (CPU seconds, best of 3): reading every
record (a full build), and the one-edit path — read the records of the
edited file and the one file naming it, write both back, make it durable
against a process kill (SQLite: COMMIT in WAL mode; JSON: temp file + rename
of every file touched).  The anchor is the single JSON file (the old
`state.json`), which a one-edit build rewrote whole.
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import tempfile
import time
import zlib


def record(i: int) -> dict:
    name = f"d{i // 100:04d}/f{i:06d}.js"
    return {"stat": [[300 + i % 97, 1764459000000000000 + i, 1000000 + i]], "deps": {},
            "commit": None, "built": {"logical_path": name, "versioned_path": name + ".v0a1b2c3d4e",
                                      "size": 200 + i % 50, "integrity": "sha384-" + "A" * 64,
                                      "input_hash": "f" * 64, "input_size": 300, "encodings": {},
                                      "encoded_sizes": {}, "sources": [], "warnings": [],
                                      "bundle": False}}


def best(fn) -> float:
    times = []
    for _ in range(3):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def write_atomic(path: str, data: bytes) -> None:
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)


def sqlite_case(folder: str, records: dict, edited: list[str]) -> tuple[float, float]:
    db = sqlite3.connect(os.path.join(folder, "state.db"), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE assets (logical TEXT PRIMARY KEY, record TEXT)")
    db.execute("BEGIN")
    db.executemany("INSERT INTO assets VALUES (?, ?)",
                   ((k, json.dumps(v)) for k, v in records.items()))
    db.execute("COMMIT")

    def full():
        {k: json.loads(v) for k, v in db.execute("SELECT logical, record FROM assets")}

    def edit():
        marks = ",".join("?" * len(edited))
        rows = {k: json.loads(v) for k, v in db.execute(
            f"SELECT logical, record FROM assets WHERE logical IN ({marks})", edited)}
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT OR REPLACE INTO assets VALUES (?, ?)",
                       ((k, json.dumps(v)) for k, v in rows.items()))
        db.execute("COMMIT")
    return best(full), best(edit)


def json_case(folder: str, records: dict, edited: list[str], shards: int) -> tuple[float, float]:
    def shard_of(name: str) -> int:
        return zlib.crc32(name.encode()) % shards
    groups: dict[int, dict] = {}
    for k, v in records.items():
        groups.setdefault(shard_of(k), {})[k] = v
    for n, group in groups.items():
        write_atomic(os.path.join(folder, f"{n}.json"), json.dumps(group).encode())

    def full():
        for n in groups:
            with open(os.path.join(folder, f"{n}.json"), "rb") as f:
                json.loads(f.read())

    def edit():
        for n in {shard_of(k) for k in edited}:
            path = os.path.join(folder, f"{n}.json")
            with open(path, "rb") as f:
                group = json.loads(f.read())
            write_atomic(path, json.dumps(group).encode())
    return best(full), best(edit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100000)
    parser.add_argument("--shards", type=int, default=256)
    args = parser.parse_args()
    records = {r["built"]["logical_path"]: r for r in map(record, range(args.records))}
    edited = [f"d{args.records // 200:04d}/f{args.records // 2:06d}.js", "d0000/f000001.js"]
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for name, run in [("SQLite rows (WAL)", lambda d: sqlite_case(d, records, edited)),
                          (f"JSON, {args.shards} shards",
                           lambda d: json_case(d, records, edited, args.shards)),
                          ("one JSON file (anchor)", lambda d: json_case(d, records, edited, 1))]:
            folder = os.path.join(work, str(len(results)))
            os.makedirs(folder)
            results[name] = run(folder)
    anchor = results["one JSON file (anchor)"]
    print(f"{args.records:,} records; CPU seconds, best of 3; ratio to one JSON file")
    print(f"{'store':<26} {'read all':>9} {'ratio':>6} {'one edit':>9} {'ratio':>7}")
    for name, (full, edit) in results.items():
        print(f"{name:<26} {full:9.3f} {full / anchor[0]:6.2f} {edit:9.4f} "
              f"{edit / anchor[1]:7.4f}")


if __name__ == "__main__":
    main()
