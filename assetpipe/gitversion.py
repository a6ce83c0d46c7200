"""The "git" versioning strategy: a file's URL changes with its commits.

The rule (also in the README):

* A file's commit is the last commit that touched it; a bundle's is the
  newest of its members' commits (the first of them in `git log` order).
* Its version is sha256(commit + NUL + sha256(final bytes)), truncated.
  Mixing in the final bytes is what keeps one name from ever denoting two
  contents: the same commit yields other bytes under other settings, under
  another assetpipe release, and — the case that matters day to day — for a
  CSS file whose referenced image was re-versioned (its rewritten url()
  changes although its own commit does not).  The bytes follow from the
  commit, the settings and the referenced versions, so a file rebuilt
  elsewhere from the same history keeps its URL.
* A file with uncommitted changes, or not committed at all, never claims a
  commit: it (and any bundle it is in) falls back to the plain content hash,
  and the build warns once, naming the files.

All commits come from one `git log --name-only` pass over the source
folder, and dirtiness from one `git status` (gitinfo.inspect).
"""
from __future__ import annotations

import hashlib

from assetpipe.gitinfo import GitState, Origin, run_git
from assetpipe.naming import content_version


def git_version(commit: str | None, content: bytes, length: int) -> str:
    if commit is None:
        return content_version(content, length)
    digest = hashlib.sha256(content).hexdigest()
    return content_version(f"{commit}\0{digest}".encode(), length)


def last_commits(origin: Origin) -> tuple[dict[str, str], dict[str, int]]:
    """(logical path -> last commit touching it, commit -> rank, 0 = newest)."""
    if origin.commit is None:
        return {}, {}
    out = run_git(origin.root, "log", "--no-show-signature", origin.commit, "-z",
                  "--name-only", "--no-renames", "--format=%x01%H", "--", origin.subdir or ".")
    commits: dict[str, str] = {}
    rank: dict[str, int] = {}
    for chunk in out.split("\x01")[1:]:
        sha, _, names = chunk.partition("\0")
        rank[sha] = len(rank)
        for name in names.removeprefix("\n").split("\0"):
            logical = origin.logical(name) if name else None
            if logical is not None:
                commits.setdefault(logical, sha)
    return commits, rank


def plan_commits(git: GitState,
                 plans: dict[str, list[str]]) -> tuple[dict[str, str | None], list[str]]:
    """The commit each output is versioned by (None: content hash), and the warning."""
    if git.origin is None:  # not a repository: nothing has a commit
        return dict.fromkeys(plans), []
    commits, rank = last_commits(git.origin)
    for logical in git.dirty:
        commits.pop(logical, None)
    sources = {m for members in plans.values() for m in members}
    uncommitted = sorted(m for m in sources if m not in commits)
    chosen: dict[str, str | None] = {}
    for logical, members in plans.items():
        found = [commits[m] for m in members if m in commits]
        chosen[logical] = min(found, key=rank.__getitem__) if len(found) == len(members) else None
    warnings = _shallow_warning(git.origin)
    if uncommitted:
        shown = ", ".join(uncommitted[:5]) + (", ..." if len(uncommitted) > 5 else "")
        warnings.append(f'versioning.strategy = "git": {len(uncommitted)} file(s) have '
                        f"uncommitted changes or are not committed ({shown}); they are "
                        "versioned by content hash until committed")
    return chosen, warnings


def _shallow_warning(origin: Origin) -> list[str]:
    """In a shallow clone (CI's fetch-depth 1) every file untouched since the
    oldest fetched commit is attributed to that commit, so URLs differ from a
    full clone's build: say so rather than silently re-version everything."""
    if run_git(origin.root, "rev-parse", "--is-shallow-repository").strip() != "true":
        return []
    return ['versioning.strategy = "git": shallow clone; files are attributed to the oldest '
            "fetched commit, so their URLs differ from a full clone's (fetch the full history, "
            "e.g. fetch-depth: 0)"]
