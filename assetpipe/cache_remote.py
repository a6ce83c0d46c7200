"""The shared remote cache on S3: entries in packs, fetched before the build
and pushed after it.

One request per result would cost a round trip per file (thousands per
build), so a build pushes what it computed as a few *packs*:

    <prefix>/packs/<sha256 of the pack>.pack    cache entries back to back
    <prefix>/packs/<same>.index                 JSON: [key, offset, length, tag] each

A pack's name is the hash of its bytes and it is never rewritten, so two
runners pushing at once write different objects or the same bytes: no
read-modify-write of a shared object.  The index goes up after its pack, and
`prune` deletes it first, so a listed index has its pack (or the pack is
merely missing: a miss).  Before a build, the indexes are read and every pack
holding an entry for a current source (`tag`: the hash of the job's source
bytes) is fetched; each entry is verified (cache.decode_entry: key, size,
sha256) and the pack kept whole in the local cache (cache_packs), where the
jobs find (and verify again) the entries that passed.  Nothing
fetched is trusted further than that check, and nothing here fails a build:
every request has a timeout, the fetch and the push each stop when their
budget passes without a request succeeding, and any fault gives one warning
and a local computation.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import partial

from assetpipe import cache_packs
from assetpipe.cache import decode_entry, entry_path, has
from assetpipe.config import Cache

PACK_BYTES = 8 * 1024 * 1024   # a few packs per cold build, pushed side by side
INDEX_FORMAT = 1


@dataclass
class Traffic:
    """What the remote cache did in one build, for the report."""

    fetched_bytes: int = 0
    pushed_bytes: int = 0
    packs_fetched: int = 0
    packs_pushed: int = 0
    entries_fetched: int = 0
    entries_pushed: int = 0
    rejected: list[str] = field(default_factory=list)   # keys of corrupt entries
    faults: list[str] = field(default_factory=list)
    seconds_fetch: float = 0.0
    seconds_push: float = 0.0
    # Set when the fetch's budget ran out: a request still under way then
    # must not write into a local cache that the build has moved past.
    closed: bool = False
    # The store could not be listed, or the fetch ran out of budget: the push
    # is not attempted (it would only spend another budget on a dead store).
    unreachable: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def as_dict(self) -> dict:
        plain = {k: v for k, v in self.__dict__.items() if k not in ("lock", "closed")}
        return dict(plain, rejected=len(self.rejected), faults=len(self.faults),
                    seconds_fetch=round(self.seconds_fetch, 3),
                    seconds_push=round(self.seconds_push, 3))


class Store:
    """Requests to the prefix; every one bounded by `timeout`, two attempts."""

    def __init__(self, spec: Cache):
        import boto3
        from botocore.config import Config as BotoConfig
        self.bucket, _, prefix = spec.remote.removeprefix("s3://").partition("/")
        self.prefix = prefix.strip("/") + "/packs/" if prefix.strip("/") else "packs/"
        boto = BotoConfig(connect_timeout=spec.timeout, read_timeout=spec.timeout,
                          retries={"mode": "standard", "total_max_attempts": 2},
                          max_pool_connections=spec.push_jobs + 4)
        self.client = boto3.session.Session().client(
            "s3", endpoint_url=spec.endpoint_url or None, config=boto)

    def listing(self) -> list[dict]:
        """Every object under packs/ (Key, Size, LastModified)."""
        found = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix):
            found.extend(page.get("Contents", []))
        return found

    def get(self, name: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self.prefix + name)["Body"].read()

    def put(self, name: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + name, Body=data)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)


def _run_bounded(calls: Iterable[Callable[[], None]], workers: int, budget: float,
                 traffic: Traffic) -> bool:
    """Run calls on a thread pool until done, or until `budget` seconds pass
    without one succeeding: a big healthy transfer may take its time, a store
    that stops answering costs at most the budget.  A call's exception is a
    fault (recorded, not raised).  False if the budget cut it short."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="assetpipe-cache")
    pending = {pool.submit(call) for call in calls}
    progress = time.monotonic()
    try:
        while pending:
            left = progress + budget - time.monotonic()
            if left <= 0:
                return False
            finished, pending = wait(pending, timeout=left, return_when=FIRST_COMPLETED)
            for future in finished:
                exc = future.exception()
                if exc is not None:
                    traffic.faults.append(_describe(exc))
                else:
                    progress = time.monotonic()
        return True
    finally:
        # Stragglers end within one request timeout; nobody waits for them.
        pool.shutdown(wait=False, cancel_futures=True)


def _within(budget: float, call: Callable[[], list]) -> list:
    """call() on a helper thread; TimeoutError when it takes over `budget` s."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="assetpipe-cache")
    try:
        return pool.submit(call).result(timeout=budget)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:200]


def fetch(spec: Cache, folder: str, tags: set[str], traffic: Traffic) -> set[str]:
    """Bring every verified remote entry for `tags` that the local cache
    lacks into it; returns the keys brought in (hits on them are remote)."""
    started = time.monotonic()
    fetched: set[str] = set()
    try:
        store = Store(spec)
        names = _within(spec.budget, store.listing)
        names = sorted(o["Key"][len(store.prefix):] for o in names
                       if o["Key"].endswith(".index"))
        indexes: dict[str, list] = {}

        def read_index(name: str) -> None:
            indexes[name] = _parse_index(store.get(name))

        if _run_bounded([partial(read_index, n) for n in names], spec.push_jobs,
                        spec.budget, traffic):
            packs = _packs_to_fetch(indexes, folder, tags)
            calls = [partial(_fetch_pack, store, n, e, folder, fetched, traffic)
                     for n, e in packs.items()]
            if not _run_bounded(calls, spec.push_jobs, spec.budget, traffic):
                traffic.faults.append(f"fetch stopped at its budget of {spec.budget} s")
                traffic.unreachable = True
        else:
            traffic.faults.append(f"fetch stopped at its budget of {spec.budget} s")
            traffic.unreachable = True
    except Exception as exc:  # noqa: BLE001 - no store fault may fail a build
        traffic.faults.append(_describe(exc))
        traffic.unreachable = True
    traffic.closed = True
    traffic.seconds_fetch = time.monotonic() - started
    with traffic.lock:
        return set(fetched)


def _parse_index(data: bytes) -> list:
    """The entries of an index; ValueError for anything else (that pack is skipped)."""
    index = json.loads(data)
    if not isinstance(index, dict) or index.get("format") != INDEX_FORMAT:
        raise ValueError("not an assetpipe cache index")
    entries = [tuple(e) for e in index.get("entries", []) if isinstance(e, list)]
    if not all(len(e) == 4 and isinstance(e[0], str) and isinstance(e[1], int)
               and isinstance(e[2], int) and isinstance(e[3], str) for e in entries):
        raise ValueError("malformed assetpipe cache index")
    return entries


def _packs_to_fetch(indexes: dict[str, list], folder: str, tags: set[str]) -> dict[str, list]:
    """Pack name -> its entries this build may use and does not have locally."""
    wanted: dict[str, list] = {}
    for name, entries in indexes.items():
        useful = [e for e in entries if e[3] in tags and not has(folder, e[0])]
        if useful:
            wanted[name.removesuffix(".index") + ".pack"] = useful
    return wanted


def _fetch_pack(store: Store, name: str, entries: list, folder: str, fetched: set[str],
                traffic: Traffic) -> None:
    """Fetch one pack and keep it whole in the local cache (cache_packs),
    indexed by the entries that pass their check."""
    data = store.get(name)
    traffic.add(fetched_bytes=len(data), packs_fetched=1)
    good: dict[str, tuple[int, int]] = {}
    for key, offset, length, _tag in entries:
        blob = data[offset:offset + length]
        if len(blob) != length or decode_entry(key, blob) is None:
            traffic.rejected.append(key)
        else:
            good[key] = (offset, length)
    with traffic.lock:
        if traffic.closed:
            return
        # A key another pack gave already (two runners pushed it) is left out.
        good = {key: spot for key, spot in good.items() if key not in fetched}
        fetched.update(good)
        traffic.entries_fetched += len(good)
    if good:
        cache_packs.save(folder, name.removesuffix(".pack"), data, good)


def push(spec: Cache, folder: str, computed: Iterable[tuple[str, str]], traffic: Traffic) -> None:
    """Upload the entries this build computed, as content-named packs."""
    started = time.monotonic()
    try:
        store = Store(spec)
        calls = [partial(_push_pack, store, p, traffic)
                 for p in _packs(folder, sorted(set(computed)))]
        if calls and not _run_bounded(calls, spec.push_jobs, spec.budget, traffic):
            traffic.faults.append(f"push stopped at its budget of {spec.budget} s")
    except Exception as exc:  # noqa: BLE001 - no store fault may fail a build
        traffic.faults.append(_describe(exc))
    traffic.seconds_push = time.monotonic() - started


def _packs(folder: str, computed: list[tuple[str, str]]) -> list[tuple[bytes, list]]:
    """(pack bytes, index entries) of at most ~PACK_BYTES each."""
    packs: list[tuple[bytes, list]] = []
    parts: list[bytes] = []
    entries: list = []
    size = 0
    for key, tag in computed:
        try:
            with open(entry_path(folder, key), "rb") as f:
                blob = f.read()
        except OSError:
            continue  # removed since (a concurrent clean): nothing to share
        entries.append([key, size, len(blob), tag])
        parts.append(blob)
        size += len(blob)
        if size >= PACK_BYTES:
            packs.append((b"".join(parts), entries))
            parts, entries, size = [], [], 0
    if parts:
        packs.append((b"".join(parts), entries))
    return packs


def _push_pack(store: Store, pack: tuple[bytes, list], traffic: Traffic) -> None:
    data, entries = pack
    name = hashlib.sha256(data).hexdigest()
    store.put(name + ".pack", data)
    store.put(name + ".index", json.dumps({"format": INDEX_FORMAT, "entries": entries},
                                          separators=(",", ":")).encode())
    traffic.add(pushed_bytes=len(data), packs_pushed=1, entries_pushed=len(entries))


def prune(spec: Cache, older_than_days: float, dry_run: bool = False) -> tuple[int, int]:
    """Delete packs (index first) last written more than N days ago; returns
    (packs, bytes).  A build re-pushes what it then misses."""
    import datetime
    store = Store(spec)
    cutoff = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=older_than_days)
    objects = {o["Key"]: o for o in store.listing()}
    doomed = []
    for key, obj in sorted(objects.items()):
        stem, ext = os.path.splitext(key)
        if obj["LastModified"] >= cutoff:
            continue
        if ext == ".index":   # the index goes first: no reader finds a pack missing
            doomed.append([key] + ([stem + ".pack"] if stem + ".pack" in objects else []))
        elif ext == ".pack" and stem + ".index" not in objects:
            doomed.append([key])   # a push cut short before its index
    if not dry_run:
        for keys in doomed:
            for key in keys:
                store.delete(key)
    return len(doomed), sum(objects[k]["Size"] for keys in doomed for k in keys)
