"""Where a build's sources come from in git: the manifest's `build` object,
the working tree's dirty files, and exports of other revisions (`--ref`).

Module level stays standard-library only and git runs as a subprocess
(run_git): `head_stamp` runs on the no-op build path, which imports nothing
it does not need.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

from assetpipe.errors import BuildError, UsageError


@dataclass(frozen=True)
class Origin:
    """A source folder's place in a repository."""

    root: str             # the repository's work-tree root
    subdir: str           # the source folder relative to root, posix; "" for the root
    commit: str | None    # full sha the files come from; None in a repository without commits
    exported: bool = False  # files are an exact export of `commit` (build --ref): nothing is dirty

    def logical(self, repo_path: str) -> str | None:
        """Repo-relative path -> logical path, None when outside the source folder."""
        if not self.subdir:
            return repo_path
        prefix = self.subdir + "/"
        return repo_path[len(prefix):] if repo_path.startswith(prefix) else None


@dataclass(frozen=True)
class GitState:
    origin: Origin | None
    dirty: frozenset[str]   # logical paths modified, staged or untracked
    describe: str | None

    def build_info(self) -> dict:
        """The manifest's `build` object."""
        commit = self.origin.commit if self.origin else None
        return {"git_commit": commit, "git_dirty": bool(self.dirty), "git_describe": self.describe}


def find_origin(source: str) -> Origin | None:
    """The Origin of a working-tree folder; None when it is not in a repository."""
    try:
        found = run_git(source, "rev-parse", "--show-toplevel", "--show-prefix")
        root, prefix = found.split("\n")[:2]
    except BuildError:
        return None
    return Origin(root=root, subdir=prefix.rstrip("/"), commit=_resolve(root, "HEAD"))


def _resolve(root: str, rev: str) -> str | None:
    """Full sha of the commit `rev` names; None if it names none (or HEAD has no commit yet)."""
    try:
        return run_git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").strip()
    except BuildError:
        return None


def inspect(origin: Origin | None) -> GitState:
    """Dirty files (one `git status` over the source folder) and `git describe`."""
    if origin is None:
        return GitState(None, frozenset(), None)
    dirty = frozenset() if origin.exported else _dirty(origin)
    return GitState(origin, dirty, _describe(origin))


def _dirty(origin: Origin) -> frozenset[str]:
    out = run_git(origin.root, "status", "--porcelain", "-z", "--untracked-files=all",
                  "--", origin.subdir or ".")
    found, entries = set(), iter(out.split("\0"))
    for entry in entries:
        if len(entry) < 4:
            continue
        if entry[0] in "RC":   # a rename/copy entry is followed by its old path
            next(entries, None)
        logical = origin.logical(entry[3:])
        if logical is not None:
            found.add(logical)
    return frozenset(found)


def _describe(origin: Origin) -> str | None:
    if origin.commit is None:
        return None
    try:
        return run_git(origin.root, "describe", "--tags", origin.commit).strip() or None
    except BuildError:  # no tag reachable
        return None


def run_git(root: str, *args: str) -> str:
    """stdout of one git command; BuildError naming the folder when it fails.

    Plain subprocess rather than GitPython: a handful of calls per build,
    and importing GitPython would cost the build 50 ms for nothing."""
    import subprocess  # here, not at the top: the no-op build never runs git
    try:
        # --no-optional-locks: `git status` would otherwise refresh the index,
        # changing the stat the no-op fingerprint recorded.
        result = subprocess.run(["git", "--no-optional-locks", "-C", root, *args],
                                capture_output=True, encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        raise BuildError(f"cannot run git: {exc.strerror}; install git", root) from None
    if result.returncode:
        command = " ".join(a for a in args if not a.startswith("-"))[:60]
        raise BuildError(f"`git {command}` failed: {result.stderr.strip()}", root)
    return result.stdout


@contextlib.contextmanager
def export(source: str, ref: str):
    """Yield (folder, Origin): the source folder as it is at `ref`, in a temp
    folder removed afterwards.  `git archive` reads only the object store, so
    the working tree, the index and the repository's worktree list are never
    touched."""
    origin = find_origin(source)
    if origin is None:
        raise UsageError(f"--ref: {source} is not in a git repository")
    commit = _resolve(origin.root, ref)
    if commit is None:
        raise UsageError(f"--ref: {ref!r} is not a commit, tag or branch in {origin.root}")
    import shutil
    import tempfile
    temp = tempfile.mkdtemp(prefix="assetpipe-ref-")
    try:
        _extract(origin.root, commit, origin.subdir, temp)
        folder = os.path.join(temp, origin.subdir) if origin.subdir else temp
        if not os.path.isdir(folder):
            raise UsageError(f"--ref: the source folder {origin.subdir or '.'} "
                             f"does not exist at {ref}")
        yield folder, Origin(origin.root, origin.subdir, commit, exported=True)
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def _extract(root: str, commit: str, subdir: str, dest: str) -> None:
    import subprocess
    import tarfile
    cmd = ["git", "-C", root, "archive", "--format=tar", commit]
    if subdir:
        cmd += ["--", subdir]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        try:
            with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
                tar.extractall(dest, filter="data")   # no absolute or escaping links
        except tarfile.TarError as exc:
            proc.kill()
            raise BuildError(f"cannot extract {commit}: {exc}", root) from None
        error = proc.communicate()[1].decode(errors="replace").strip()
    if proc.returncode:
        raise UsageError(f"--ref: git archive failed: {error}")


def head_stamp(source: str) -> str:
    """Cheap evidence of HEAD, the index or the tags moving (commit, checkout,
    add, tag: `git_describe` changes), for the no-op check: HEAD's text plus the
    stat of the index, HEAD's reflog, refs/tags and packed-refs.  Standard
    library only; "" outside a repository."""
    gitdir = _find_gitdir(os.path.abspath(source))
    if gitdir is None:
        return ""
    parts = []
    for name in ("HEAD", "index", os.path.join("logs", "HEAD"), os.path.join("refs", "tags"),
                 "packed-refs"):
        path = os.path.join(gitdir, name)
        try:
            st = os.stat(path)
            parts.append(f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}")
            if name == "HEAD":
                with open(path) as f:
                    parts.append(f.read().strip())
        except OSError:
            parts.append("-")
    return "|".join(parts)


def _find_gitdir(folder: str) -> str | None:
    while True:
        dotgit = os.path.join(folder, ".git")
        if os.path.isdir(dotgit):
            return dotgit
        if os.path.isfile(dotgit):   # a worktree or submodule: "gitdir: <path>"
            with open(dotgit) as f:
                target = f.read().strip().removeprefix("gitdir:").strip()
            return os.path.join(folder, target)
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def origin_for(source: str, strategy: str, origin: Origin | None) -> Origin | None:
    """The commit the sources are, for the "git" strategy: `origin` (build
    --ref), else the working tree's; a usage error outside a repository."""
    from assetpipe.versioning import uses_git
    if origin is not None or not uses_git(strategy):
        return origin
    found = find_origin(source)
    if found is None:
        raise UsageError(f'versioning.strategy = "git": the source folder {source} '
                         'is not in a git repository; run `git init` and commit, or use '
                         'strategy "hash"')
    return found
