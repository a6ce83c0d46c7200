"""Where the configuration comes from (the contract's lookup order).

--config FILE, else ./assetpipe.toml, else [tool.assetpipe] in
./pyproject.toml; a TOML syntax error or a missing section is a usage
error naming the file.
"""
from __future__ import annotations

import os
import tomllib

from assetpipe.errors import UsageError


def find_config(explicit: str | None, cwd: str | None = None) -> tuple[str, dict]:
    """Return (path, raw table) following the contract's lookup order."""
    cwd = cwd or os.getcwd()
    if explicit:
        path = os.path.abspath(explicit)
        if not os.path.isfile(path):
            raise UsageError(f"config file {explicit} does not exist")
        table = _read_toml(path)
        if os.path.basename(path) == "pyproject.toml":
            return path, _tool_section(path, table)
        return path, table
    candidate = os.path.join(cwd, "assetpipe.toml")
    if os.path.isfile(candidate):
        return candidate, _read_toml(candidate)
    candidate = os.path.join(cwd, "pyproject.toml")
    if os.path.isfile(candidate):
        return candidate, _tool_section(candidate, _read_toml(candidate))
    raise UsageError("no config: pass --config FILE, or create assetpipe.toml "
                     "(or [tool.assetpipe] in pyproject.toml) in this folder")


def _read_toml(path: str) -> dict:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:  # tomllib decodes the whole file first
        raise UsageError(f"{path}: not a UTF-8 TOML file (byte {exc.start})") from None


def _tool_section(path: str, table: dict) -> dict:
    tool = table.get("tool")
    if not isinstance(tool, dict) or "assetpipe" not in tool:
        raise UsageError(f"{path}: no [tool.assetpipe] section")
    if not isinstance(tool["assetpipe"], dict):
        raise UsageError(f"{path}: tool.assetpipe: must be a table ([tool.assetpipe])")
    return tool["assetpipe"]
