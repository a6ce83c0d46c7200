"""What commit a build came from, for the manifest's `build` object."""
from __future__ import annotations


def describe_checkout(path: str) -> dict:
    """{"git_commit": sha or None, "git_dirty": bool} for the repo containing `path`."""
    try:
        import git
        repo = git.Repo(path, search_parent_directories=True)
        commit = repo.head.commit.hexsha
        dirty = repo.is_dirty(untracked_files=True, path=path)
    except Exception:  # not a repository, no commits yet, or git missing
        return {"git_commit": None, "git_dirty": False}
    return {"git_commit": commit, "git_dirty": bool(dirty)}
