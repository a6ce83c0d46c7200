"""How a config value is checked: type, choices, range, unknown keys.

A section's choices and ranges are declared on its dataclass field (with
`choice` / `within`), next to the default, and checked here; every error
is a UsageError naming the dotted key.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import field
from typing import Any

from assetpipe.errors import UsageError


def choice(default: str, options) -> Any:
    """A key whose value must be one of `options` (checked by check_value)."""
    return field(default=default, metadata={"choices": tuple(options)})


def within(default: int, low: int, high: int) -> Any:
    """A key whose value must lie in low..high (checked by check_value)."""
    return field(default=default, metadata={"range": (low, high)})


def check_value(dotted: str, value, rules) -> None:
    choices = rules.get("choices")
    if choices and value not in choices:
        raise UsageError(f"{dotted}: {value!r} is not one of {', '.join(choices)}")
    low, high = rules.get("range", (value, value))
    if not low <= value <= high:
        raise UsageError(f"{dotted}: {value} is outside {low}..{high}")


def check_type(key: str, value, expected: type) -> None:
    # bool is an int subclass: `length = true` must not pass as 1.
    if type(value) is not expected:
        got = f"{type(value).__name__} {value!r}"
        raise UsageError(f"{key}: expected {expected.__name__}, got {got}")


def reject_unknown(table: dict, known, prefix: str) -> None:
    for key in table:
        if key not in known:
            import difflib  # only on the error path
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f" (did you mean '{prefix}{close[0]}'?)" if close else ""
            raise UsageError(f"unknown config key '{prefix}{key}'{hint}")


def tables(raw, key: str, needs: str, known) -> Iterator[tuple[str, dict]]:
    """Each table of the array `[[key]]` with its place ("bundle[2]"); one
    that is not a table, or has an unknown key, is an error naming it."""
    if not isinstance(raw, list):
        raise UsageError(f"{key}: must be an array of tables ([[{key}]])")
    for i, item in enumerate(raw):
        where = f"{key}[{i}]"
        if not isinstance(item, dict):
            raise UsageError(f"{where}: must be a table with {needs}")
        reject_unknown(item, known, where + ".")
        yield where, item


def is_inside(path: str, folder: str) -> bool:
    """True when `path` is `folder` or below it, symlinks resolved (an output
    reached through a link into the source is inside it; "/" holds everything)."""
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return os.path.commonpath([path, folder]) == folder
