"""The [pages] section: templates rendered and URLs snapshotted by `assetpipe pages`."""
from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass

from assetpipe.config_checks import check_type as _check_type
from assetpipe.config_checks import is_inside, tables
from assetpipe.config_checks import reject_unknown as _reject_unknown
from assetpipe.errors import UsageError
from assetpipe.policy import page_path_problem


@dataclass(frozen=True)
class Page:
    """One `[[pages.page]]`: exactly one of `template` (rendered) or `url` (snapshot)."""

    path: str                       # relative to Pages.output, "/"-separated
    template: str | None = None     # relative to Pages.templates
    url: str | None = None          # http(s) URL fetched with GET


@dataclass(frozen=True)
class Pages:
    templates: str                  # absolute
    output: str                     # absolute; defaults to the build's output
    every: float = 300.0            # seconds, for `pages --every` without a value
    context: str | None = None      # "module:function", importable from the config folder
    timeout: float = 10.0           # seconds per snapshot request
    pages: tuple[Page, ...] = ()


PAGES_KEYS = {"templates", "output", "every", "context", "timeout", "page"}
PAGE_KEYS = {"path", "template", "url"}


def parse_pages(raw, root: str, source: str, build_output: str) -> Pages:
    if not isinstance(raw, dict):
        raise UsageError("pages: must be a table ([pages])")
    _reject_unknown(raw, PAGES_KEYS, "pages.")
    for key in ("templates", "output", "context"):
        if key in raw:
            _check_type(f"pages.{key}", raw[key], str)
    for key in ("every", "timeout"):
        value = raw.get(key, 1)
        if type(value) not in (int, float) or value <= 0:
            raise UsageError(f"pages.{key}: expected a positive number of seconds, got {value!r}")
    context = raw.get("context")
    if context is not None and not re.fullmatch(r"[\w.]+:\w+", context):
        raise UsageError(f"pages.context: {context!r} is not \"module:function\"")
    output = build_output
    if "output" in raw:
        output = os.path.normpath(os.path.join(root, raw["output"]))
    # Pages written into the source folder would come back as assets on the next build.
    if is_inside(output, source):
        raise UsageError(f"pages.output: {raw['output']!r} is inside source; "
                         "write pages to the build output (the default) or another folder")
    if raw.get("every", MIN_EVERY) < MIN_EVERY:
        raise UsageError(f"pages.every: {raw['every']} is below the minimum of {MIN_EVERY:g} s")
    return Pages(templates=os.path.normpath(os.path.join(root, raw.get("templates", "templates"))),
                 output=output, every=float(raw.get("every", Pages.every)), context=context,
                 timeout=float(raw.get("timeout", Pages.timeout)),
                 pages=_parse_page_list(raw.get("page", []), output == build_output))


# `pages --every`: each tick renders every page (and asks the app for the
# snapshots); a period near zero would only spin a core.
MIN_EVERY = 0.1


def _parse_page_list(raw, in_build_output: bool = True) -> tuple[Page, ...]:
    pages, seen = [], set()
    for where, item in tables(raw, "pages.page", "'path' and 'template' or 'url'", PAGE_KEYS):
        for key, value in item.items():
            _check_type(f"{where}.{key}", value, str)
        if ("template" in item) == ("url" in item):
            raise UsageError(f"{where}: needs exactly one of 'template' or 'url'")
        if "url" in item and not item["url"].startswith(("http://", "https://")):
            raise UsageError(f"{where}.url: {item['url']!r} is not an http:// or https:// URL")
        path = posixpath.normpath(item.get("path", ""))
        # A page is written inside the pages output folder, never beside it.
        if "path" not in item or path in (".", "..") or path.startswith(("/", "../")):
            raise UsageError(f"{where}.path: must be a file path inside the output folder, "
                             f"e.g. \"index.html\" (got {item.get('path')!r})")
        problem = page_path_problem(path, in_build_output)
        if problem:
            raise UsageError(f"{where}.path: {path!r}: {problem}")
        if path in seen:
            raise UsageError(f"{where}.path: page {path!r} is declared twice")
        seen.add(path)
        pages.append(Page(path=path, template=item.get("template"), url=item.get("url")))
    return tuple(pages)
