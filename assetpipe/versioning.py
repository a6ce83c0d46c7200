"""Versioning strategies, as one table: how an output's version is chosen.

`[versioning] strategy` names a row; the config's choices, the build's git
inspection and the job's version all read the row, so adding a strategy
is one entry here.  Standard library only at import time: the job module
that uses it is preloaded in every pool worker.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assetpipe import naming

if TYPE_CHECKING:
    from assetpipe.jobs import Job
    from assetpipe.transforms import Settings


def _by_content(content: bytes, job: Job, settings: Settings) -> str:
    return naming.content_version(content, settings.versioning.length)


def _by_mtime(content: bytes, job: Job, settings: Settings) -> str:
    # The settings key is mixed in so a changed transform never reuses a
    # name; the deps so a referenced file's new version renames its users.
    seed = f"{job.mtime_ns}|{settings.key()}|{len(content)}|{job.deps!r}".encode()
    return naming.content_version(seed, settings.versioning.length)


def _by_commit(content: bytes, job: Job, settings: Settings) -> str:
    from assetpipe.gitversion import git_version
    return git_version(job.commit, content, settings.versioning.length)


@dataclass(frozen=True)
class Strategy:
    version: Callable[[bytes, Job, Settings], str]
    # Versions come from each file's last commit: the build finds the
    # source folder's repository (else a usage error) and plans commits.
    uses_git: bool = False
    # The version is a hash of the final bytes, so one name never holds two
    # contents; the others fall back to it when their stamp collides.
    by_content: bool = False


STRATEGIES: dict[str, Strategy] = {
    "hash": Strategy(_by_content, by_content=True),
    "git": Strategy(_by_commit, uses_git=True),
    "mtime": Strategy(_by_mtime),
}


def version(content: bytes, job: Job, settings: Settings) -> str:
    return STRATEGIES[settings.versioning.strategy].version(content, job, settings)


def uses_git(strategy: str) -> bool:
    return STRATEGIES[strategy].uses_git


def by_content(strategy: str) -> bool:
    return STRATEGIES[strategy].by_content
