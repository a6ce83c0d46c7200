"""Which outputs an incremental build can take from the last build as they are.

An output is reused when its members' stat, the versioned names it
references and its commit are what the last build saw, and its files are
still there; otherwise it becomes a Job.  The records kept here are what
the next build compares against (state.save_state).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from assetpipe import plan
from assetpipe.jobs import Built, Job, outputs_exist
from assetpipe.sources import SourceFile

if TYPE_CHECKING:
    from assetpipe.build import _Plan
    from assetpipe.transforms import Settings


class Reuse:
    def __init__(self, output: str, sources: dict[str, SourceFile], planned: _Plan,
                 previous: dict, settings: Settings):
        self.output, self.sources, self.plans = output, sources, planned.plans
        self.deps, self.commits, self.groups = planned.deps, planned.commits, planned.groups
        self.previous, self.settings = previous, settings
        self.versioned: dict[str, str] = {}   # logical -> versioned path, as outputs finish
        self.cycle_names: dict[str, str] = {}  # an import cycle's names, fixed in advance
        self.records: dict[str, dict] = {}

    def prepare(self, logical: str) -> Built | tuple[Job, int]:
        """The cached Built when nothing it depends on changed, else (Job, input bytes)."""
        members = self.plans[logical]
        key = plan.stat_key(members, self.sources)
        if logical in self.groups and logical not in self.cycle_names:
            self.cycle_names.update(self._cycle_names(self.groups[logical]))
        dep_paths = {target: self.versioned.get(target) or self.cycle_names[target]
                     for target in sorted(self.deps[logical])}
        commit = self.commits.get(logical)
        self.records[logical] = {"stat": key, "deps": dep_paths, "commit": commit}
        prev = self.previous.get(logical)
        fixed = self.cycle_names.get(logical)
        if (prev and prev["stat"] == key and prev["deps"] == dep_paths
                and prev.get("commit") == commit and outputs_exist(prev["built"], self.output)
                and fixed in (None, prev["built"]["versioned_path"])):
            self.versioned[logical] = prev["built"]["versioned_path"]
            return Built(**prev["built"])
        sources = [self.sources[m] for m in members]
        job = Job(logical_path=logical, inputs=tuple((s.logical_path, s.abs_path) for s in sources),
                  is_bundle=logical not in self.sources,
                  mtime_ns=max(s.mtime_ns for s in sources),
                  deps=tuple(dep_paths.items()), previous=prev["built"] if prev else None,
                  commit=commit, versioned_path=fixed)
        return job, sum(s.size for s in sources)

    def _cycle_names(self, group: tuple[str, ...]) -> dict[str, str]:
        """Versioned names of one import cycle's members (assetpipe.modules)."""
        from assetpipe.modules import cycle_names
        external = {t: self.versioned[t] for m in group for t in self.deps[m] if t not in group}
        return cycle_names(group, self.plans,
                           {k: s.abs_path for k, s in self.sources.items()}, external,
                           self.settings.key(), self.settings.versioning.length)

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
