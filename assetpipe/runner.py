"""Runs build jobs in dependency order: inline when small, else in a process pool.

Each output is started as soon as the outputs it references are done, not
level by level, so stylesheets overlap with the images still being
recompressed.  Jobs that others wait on go first, then the biggest (so no
worker is left alone with a large file at the end).  A bounded number of
batches is in flight, which lets newly ready jobs overtake the queue.

The pool uses forkserver: forking a parent that has already run native
engines (pyoxipng) hung workers here; forkserver children start clean and
preload the job module once.
"""
from __future__ import annotations

import heapq
import os
from collections import defaultdict

from assetpipe import jobs as jobs_mod
from assetpipe.errors import BuildError
from assetpipe.graph import find_cycle
from assetpipe.jobs import Built

# Below this much input, starting worker processes costs more than it saves.
INLINE_BYTES = 2_000_000
BATCH_BYTES = 1_000_000
BATCH_FILES = 64
BATCHES_IN_FLIGHT_PER_WORKER = 2


class _Order:
    """Which nodes may start: each becomes ready once every node it
    references is finished."""

    def __init__(self, deps: dict[str, set[str]]):
        self.waiting = {node: set(d) for node, d in deps.items()}
        self.dependents: dict[str, list[str]] = defaultdict(list)
        for node, targets in deps.items():
            for target in targets:
                self.dependents[target].append(node)
        self.ready = sorted(node for node, d in self.waiting.items() if not d)
        self.finished: set[str] = set()

    def finish(self, node: str) -> None:
        self.finished.add(node)
        for other in self.dependents[node]:
            self.waiting[other].discard(node)
            if not self.waiting[other]:
                self.ready.append(other)

    def check_complete(self) -> None:
        """Raise if a node never became ready: a reference cycle (named), or
        a reference to a node that is not in the graph."""
        stalled = {n: d for n, d in self.waiting.items() if n not in self.finished}
        if not stalled:
            return
        if all(t in stalled for d in stalled.values() for t in d):
            raise BuildError("reference cycle: " + " -> ".join(find_cycle(stalled)))
        node = min(stalled)
        waits = ", ".join(sorted(stalled[node]))
        raise BuildError(f"{node} never became ready: it waits on {waits}")


class Runner:
    def __init__(self, settings, output: str, state_dir: str, workers: int, advance=None,
                 on_done=None):
        self.settings, self.output, self.workers = settings, output, workers
        self.state_dir = state_dir
        self.advance, self.on_done = advance, on_done
        self._pool = None
        self._queue: list[tuple] = []   # heap of (others waiting on it?, -bytes, name, job)
        self._inflight: dict = {}       # future -> batch size

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def run_graph(self, deps: dict[str, set[str]], prepare, total_bytes: int) -> tuple[list, list]:
        """Run every node after its deps.  `prepare(node)` returns a Built
        (reused from the cache) or (Job, input bytes).  Returns (reused, done);
        a node that never becomes ready (a cycle) is a BuildError."""
        order = _Order(deps)
        inline = self.workers <= 1 or total_bytes < INLINE_BYTES
        reused: list[Built] = []
        done: list[Built] = []
        while order.ready or self._queue or self._inflight:
            while order.ready:
                item = prepare(order.ready.pop())
                if isinstance(item, Built):
                    reused.append(item)
                    self._finish(order, item)
                elif inline:
                    done.append(jobs_mod.run_job(item[0], self.settings, self.output,
                                                     self.state_dir))
                    self._finish(order, done[-1])
                else:
                    self._enqueue(item, order)
            self._submit()
            for result in self._wait_one():
                done.append(result)
                self._finish(order, result)
        order.check_complete()
        return reused, done

    def _enqueue(self, item: tuple, order: _Order) -> None:
        job, size = item
        heapq.heappush(self._queue, (not order.dependents[job.logical_path], -size,
                                     job.logical_path, job))

    def _finish(self, order: _Order, built: Built) -> None:
        self._tick(1)
        if self.on_done:
            self.on_done(built)
        order.finish(built.logical_path)

    def _submit(self) -> None:
        """Keep a bounded number of batches in flight, so newly ready jobs
        can overtake the queue."""
        while self._queue and len(self._inflight) < self.workers * BATCHES_IN_FLIGHT_PER_WORKER:
            batch = _next_batch(self._queue)
            future = self._start().submit(jobs_mod.run_batch, batch, self.settings,
                                          self.output, self.state_dir)
            self._inflight[future] = len(batch)

    def _wait_one(self) -> list:
        """Results of the next batches to finish; none when none is in flight."""
        if not self._inflight:
            return []
        from concurrent.futures import FIRST_COMPLETED, wait
        finished, _ = wait(self._inflight, return_when=FIRST_COMPLETED)
        results = []
        for future in finished:
            del self._inflight[future]
            results.extend(future.result())
        return results

    def _tick(self, n: int) -> None:
        if self.advance:
            self.advance(n)

    def _start(self):
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["assetpipe.jobs"])
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx,
                                             initializer=jobs_mod.exit_with_build,
                                             initargs=(os.getpid(),))
        return self._pool


def _next_batch(queue: list) -> list:
    """Pop jobs in priority order until ~1 MB or 64 files."""
    batch: list = []
    size = 0
    while queue and size < BATCH_BYTES and len(batch) < BATCH_FILES:
        _, neg_size, _, job = heapq.heappop(queue)
        batch.append(job)
        size -= neg_size
    return batch
