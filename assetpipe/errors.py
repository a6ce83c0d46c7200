"""Exceptions the CLI maps to exit codes: UsageError -> 2, BuildError -> 1.

Every error a user can cause is one of these, so the CLI prints it as one
line (with the file, and line, it names) instead of a traceback.  Standard
library only: the runtime manifest reader raises them too.
"""
from __future__ import annotations


class AssetpipeError(Exception):
    exit_code = 1


class UsageError(AssetpipeError):
    """Bad command line or bad config (exit 2); the message names the key."""

    exit_code = 2


class BuildError(AssetpipeError):
    """A build/sync/render failure (exit 1); names the file and line where known."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        self.path, self.line = path, line
        where = f"{path}:{line}: " if path and line else f"{path}: " if path else ""
        super().__init__(where + message)


class MissingEngine(BuildError):
    """An engine the config asks for is not installed: one error for the
    whole build (exit 1), never a warning per file."""


class ManifestError(AssetpipeError, ValueError):
    """manifest.json cannot be used (a ValueError, as it always was)."""
