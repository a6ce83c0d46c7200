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
from assetpipe.jobs import Built

# Below this much input, starting worker processes costs more than it saves.
INLINE_BYTES = 2_000_000
BATCH_BYTES = 1_000_000
BATCH_FILES = 64
BATCHES_IN_FLIGHT_PER_WORKER = 2


class Runner:
    def __init__(self, settings, output: str, state_dir: str, workers: int, advance=None,
                 on_done=None):
        self.settings, self.output, self.workers = settings, output, workers
        self.state_dir = state_dir
        self.advance, self.on_done = advance, on_done
        self._pool = None

    def __enter__(self) -> "Runner":
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def run_graph(self, deps: dict[str, set[str]], prepare, total_bytes: int) -> tuple[list, list]:
        """Run every node after its deps.  `prepare(node)` returns a Built
        (reused from the cache) or (Job, input bytes).  Returns (reused, done)."""
        waiting = {node: set(d) for node, d in deps.items()}
        dependents: dict[str, list[str]] = defaultdict(list)
        for node, targets in deps.items():
            for target in targets:
                dependents[target].append(node)
        ready = sorted(node for node, d in waiting.items() if not d)
        inline = self.workers <= 1 or total_bytes < INLINE_BYTES
        queue: list[tuple] = []   # heap of (others waiting on it?, -bytes, name, job)
        inflight: dict = {}       # future -> batch size
        reused, done = [], []

        def finish(built: Built) -> None:
            self._tick(1)
            if self.on_done:
                self.on_done(built)
            for node in dependents[built.logical_path]:
                waiting[node].discard(built.logical_path)
                if not waiting[node]:
                    ready.append(node)

        while ready or queue or inflight:
            while ready:
                item = prepare(ready.pop())
                if isinstance(item, Built):
                    reused.append(item)
                    finish(item)
                    continue
                job, size = item
                if inline:
                    done.append(jobs_mod.run_job(job, self.settings, self.output, self.state_dir))
                    finish(done[-1])
                else:
                    heapq.heappush(queue, (not dependents[job.logical_path], -size,
                                           job.logical_path, job))
            while queue and len(inflight) < self.workers * BATCHES_IN_FLIGHT_PER_WORKER:
                batch = _next_batch(queue)
                future = self._start().submit(jobs_mod.run_batch, batch, self.settings,
                                              self.output, self.state_dir)
                inflight[future] = len(batch)
            if inflight:
                for result in self._wait_one(inflight):
                    done.append(result)
                    finish(result)
        return reused, done

    def _wait_one(self, inflight: dict) -> list:
        from concurrent.futures import FIRST_COMPLETED, wait
        finished, _ = wait(inflight, return_when=FIRST_COMPLETED)
        results = []
        for future in finished:
            del inflight[future]
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
    batch, size = [], 0
    while queue and size < BATCH_BYTES and len(batch) < BATCH_FILES:
        _, neg_size, _, job = heapq.heappop(queue)
        batch.append(job)
        size -= neg_size
    return batch
