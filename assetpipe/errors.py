"""Exceptions the CLI maps to exit codes: UsageError -> 2, BuildError -> 1."""
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
