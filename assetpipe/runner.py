"""Runs build jobs: inline when small, else in a process pool over `workers`.

The pool uses forkserver: forking a parent that has already run native
engines (pyoxipng) hung workers here; forkserver children start clean and
preload the job module once.
"""
from __future__ import annotations

from assetpipe import jobs as jobs_mod

# Below this much input, starting worker processes costs more than it saves.
INLINE_BYTES = 2_000_000
BATCH_BYTES = 1_000_000
BATCH_FILES = 64


class Runner:
    def __init__(self, settings, output: str, workers: int, advance=None):
        self.settings, self.output, self.workers = settings, output, workers
        self.advance = advance
        self._pool = None

    def __enter__(self) -> "Runner":
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def run(self, todo: list, sizes: dict[str, int]) -> list:
        if not todo:
            return []
        if self.workers <= 1 or (self._pool is None and sum(sizes.values()) < INLINE_BYTES):
            results = []
            for job in todo:
                results.append(jobs_mod.run_job(job, self.settings, self.output))
                self._tick(1)
            return results
        batches = _batches(sorted(todo, key=lambda j: -sizes[j.logical_path]), sizes)
        pool = self._start()
        futures = [pool.submit(jobs_mod.run_batch, batch, self.settings, self.output)
                   for batch in batches]
        results = []
        for future, batch in zip(futures, batches):
            results.extend(future.result())
            self._tick(len(batch))
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
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
        return self._pool


def _batches(todo: list, sizes: dict[str, int]) -> list[list]:
    """Biggest first, grouped so each task carries ~1 MB or 64 files."""
    batches, current, current_bytes = [], [], 0
    for job in todo:
        current.append(job)
        current_bytes += sizes[job.logical_path]
        if current_bytes >= BATCH_BYTES or len(current) >= BATCH_FILES:
            batches.append(current)
            current, current_bytes = [], 0
    if current:
        batches.append(current)
    return batches
