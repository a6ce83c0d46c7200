"""Which outputs an incremental build can take from the last build as they are.

An output is reused when its members' stat, the versioned names it
references and its commit are what the last build saw, and its files are
still there; otherwise it becomes a Job.  The records kept here are what
the next build compares against (state.save_state).
"""
from __future__ import annotations

from assetpipe import plan
from assetpipe.jobs import Built, Job, outputs_exist
from assetpipe.sources import SourceFile


class Reuse:
    def __init__(self, output: str, sources: dict[str, SourceFile], plans: dict[str, list[str]],
                 deps: dict[str, set[str]], commits: dict, previous: dict):
        self.output, self.sources, self.plans = output, sources, plans
        self.deps, self.commits, self.previous = deps, commits, previous
        self.versioned: dict[str, str] = {}   # logical -> versioned path, as outputs finish
        self.records: dict[str, dict] = {}

    def prepare(self, logical: str) -> Built | tuple[Job, int]:
        """The cached Built when nothing it depends on changed, else (Job, input bytes)."""
        members = self.plans[logical]
        key = plan.stat_key(members, self.sources)
        dep_paths = {target: self.versioned[target] for target in sorted(self.deps[logical])}
        commit = self.commits.get(logical)
        self.records[logical] = {"stat": key, "deps": dep_paths, "commit": commit}
        prev = self.previous.get(logical)
        if (prev and prev["stat"] == key and prev["deps"] == dep_paths
                and prev.get("commit") == commit and outputs_exist(prev["built"], self.output)):
            self.versioned[logical] = prev["built"]["versioned_path"]
            return Built(**prev["built"])
        sources = [self.sources[m] for m in members]
        job = Job(logical_path=logical, inputs=tuple((s.logical_path, s.abs_path) for s in sources),
                  is_bundle=logical not in self.sources,
                  mtime_ns=max(s.mtime_ns for s in sources),
                  deps=tuple(dep_paths.items()), previous=prev["built"] if prev else None,
                  commit=commit)
        return job, sum(s.size for s in sources)

    def finished(self, built: Built) -> None:
        self.versioned[built.logical_path] = built.versioned_path

    def changed_bytes(self) -> int:
        """Input bytes whose stat changed: decides whether a pool pays."""
        return sum(src.size for logical, src in self.sources.items()
                   if plan.stat_key([logical], self.sources)
                   != self.previous.get(logical, {}).get("stat"))

    def records_for(self, built: list[Built]) -> dict[str, dict]:
        for b in built:
            self.records[b.logical_path]["built"] = b.as_dict()
        return self.records
