"""Where the build keeps its own files, and moving them out of an old output.

The state folder (cache, fingerprint, `building` marker, PNG results,
history) must never be served: WhiteNoise serves every file under its root,
dot-named ones included, and so does any server without our rules.  So it
lives outside the output folder — `state_dir` in the config, by default
`policy.default_state_dir` — and is resolved once, into `Config.state_dir`.
"""
from __future__ import annotations

import os

from assetpipe.errors import UsageError
from assetpipe.policy import STATE_DIR, default_state_dir


def resolve_state_dir(raw: object, root: str, source: str, output: str) -> str:
    """The absolute state folder for `state_dir = raw` (None: the default)."""
    if raw is not None and not isinstance(raw, str):
        raise UsageError(f"state_dir: expected str, got {type(raw).__name__} {raw!r}")
    path = os.path.normpath(os.path.join(root, raw)) if raw else default_state_dir(root, output)
    shown = raw or path
    if path == output or path.startswith(output + os.sep):
        raise UsageError(f"state_dir: {shown!r} is inside output {output!r}, where it would be "
                         "served; set state_dir to a folder outside the output")
    if path == source or (path.startswith(source + os.sep) and not _hidden(path, source)):
        # A dot-named folder in the source is skipped by the scan; anything
        # else there would come back as assets on the next build.
        raise UsageError(f"state_dir: {shown!r} is inside source {source!r}; "
                         "set state_dir to a folder outside the source, or a dot-named one")
    return path


def _hidden(path: str, source: str) -> bool:
    return any(part.startswith(".") for part in os.path.relpath(path, source).split(os.sep))


# The default folder sits beside the config, usually in a git work tree:
# like .pytest_cache, it ignores itself, so `git status` (and the "git"
# strategy's dirty check, when the source is the project root) never sees it.
GITIGNORE = "# Created by assetpipe: the build's own state, not source.\n*\n"


def prepare_state_dir(output: str, state_dir: str) -> None:
    """Create the state folder (ignored by git), and move `<output>/.assetpipe/`
    (older releases' state) into it.  Call under the output lock."""
    ignore = os.path.join(state_dir, ".gitignore")
    if not os.path.exists(ignore):
        from assetpipe.writer import write_atomic
        write_atomic(ignore, GITIGNORE.encode())
    _adopt_legacy_state(output, state_dir)


def _adopt_legacy_state(output: str, state_dir: str) -> None:
    """Move `<output>/.assetpipe/` into `state_dir`, then remove it from the
    served tree.  Entries the new folder already has win; history entries
    are merged one by one so `clean --keep N` still counts every build."""
    legacy = os.path.join(output, STATE_DIR)
    if not os.path.isdir(legacy):
        return
    import shutil  # only on this one-time path: config imports this module
    _merge(legacy, state_dir)
    shutil.rmtree(legacy, ignore_errors=True)


def _merge(src: str, dst: str) -> None:
    import shutil
    os.makedirs(dst, exist_ok=True)
    for name in os.listdir(src):
        if name == "lock":   # the old lock file: the lock is now on the output folder
            continue
        a, b = os.path.join(src, name), os.path.join(dst, name)
        if os.path.isdir(a) and os.path.isdir(b):
            _merge(a, b)
        elif not os.path.lexists(b):
            shutil.move(a, b)   # a rename on one filesystem, else a copy
