"""Static pages: Jinja2 templates and snapshots of dynamic URLs, published atomically.

A page is either rendered (a template with the config's context and the
manifest helpers) or snapshotted (GET of a URL, 2xx only).  Publishing writes
the twins first and then swaps the page in by rename, and only when its bytes
changed, so readers never see a partial file and an unchanged page keeps its
mtime (and its HTTP validators).  A page that fails keeps its last good
version on disk; the failure is reported, never published.
"""
from __future__ import annotations

import http.client
import importlib
import os
import sys
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import jinja2

from assetpipe import __version__
from assetpipe import compress as twins
from assetpipe.config import Compress, Config
from assetpipe.config_pages import Page
from assetpipe.errors import AssetpipeError, BuildError, UsageError
from assetpipe.jinja import install
from assetpipe.manifest import MANIFEST_NAME, Manifest
from assetpipe.media_types import is_compressible
from assetpipe.writer import write_atomic

AUTOESCAPE = ("html", "htm", "xml")


class PageError(AssetpipeError):
    """A page could not be produced; the message says why and where."""


@dataclass(frozen=True)
class PageResult:
    path: str                   # relative to the pages output folder
    written: bool = False       # False when the content was unchanged (or it failed)
    error: str | None = None


class PageRenderer:
    """Renders and publishes every page of a config; reused across timer ticks.

    It keeps the Jinja environment (whose template cache reloads edited
    files), the manifest (re-read by the helpers when a build replaces it)
    and the imported context function.
    """

    def __init__(self, config: Config, dev: bool = False):
        """`config` must have a [pages] section (config.pages is not None);
        `dev` renders one tag per bundle member (`pages --dev`, never for publishing)."""
        if config.pages is None:
            raise UsageError(f"{config.config_path}: no [pages] section")
        self.config, self.settings, self.dev = config, config.pages, dev
        # StrictUndefined: a misspelt variable fails the page (keeping the last
        # good one) instead of publishing a silently blank section.
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(self.settings.templates),
            autoescape=jinja2.select_autoescape(AUTOESCAPE),
            undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
        self.context_function = (load_context_function(self.settings.context, config.root)
                                 if self.settings.context else None)
        self.manifest: Manifest | None = None

    def render_all(self) -> list[PageResult]:
        """Try every page; failures are returned, not raised."""
        context = self._context() if any(p.template for p in self.settings.pages) else {}
        return [self._publish(page, context) for page in self.settings.pages]

    def _publish(self, page: Page, context: dict | PageError) -> PageResult:
        try:
            content = self._content(page, context)
            written = publish_page(os.path.join(self.settings.output, page.path), content,
                                   self.config.compress)
        except PageError as exc:
            return PageResult(page.path, error=str(exc))
        except Exception as exc:
            # Anything else (an unwritable folder, a malformed URL, a bug) fails
            # this page only: the timer must keep the other pages, and later
            # ticks, going.
            return PageResult(page.path, error=describe(exc, self.config.root))
        return PageResult(page.path, written=written)

    def _content(self, page: Page, context: dict | PageError) -> bytes:
        if page.template is None:  # exactly one of template and url (config_pages)
            return fetch_snapshot(page.url or "", self.settings.timeout)
        if isinstance(context, PageError):
            raise context
        self._load_manifest()
        return render_template(self.env, page.template, context, self.config.root)

    def _context(self) -> dict | PageError:
        """The context for this tick (called once per tick), or why there is none."""
        if self.context_function is None:
            return {}
        try:
            value = self.context_function()
        except Exception as exc:
            return PageError(f"context function {self.settings.context} raised "
                             f"{describe(exc, self.config.root)}")
        if not isinstance(value, Mapping):
            return PageError(f"context function {self.settings.context} returned "
                             f"{type(value).__name__}, not a dict")
        return dict(value)

    def _load_manifest(self) -> None:
        # Loaded on first use so the timer can start before the first build;
        # afterwards the helpers call reload_if_changed() themselves.
        if self.manifest is not None:
            return
        path = os.path.join(self.config.output, MANIFEST_NAME)
        try:
            self.manifest = Manifest.load(path)
        except FileNotFoundError:
            raise PageError(f"{path} not found; run `assetpipe build` first") from None
        except ValueError as exc:
            raise PageError(str(exc)) from None
        install(self.env, self.manifest, dev=self.dev)


def _template_folder(env: jinja2.Environment) -> str:
    """The folder templates are read from (PageRenderer's FileSystemLoader)."""
    loader = env.loader
    return loader.searchpath[0] if isinstance(loader, jinja2.FileSystemLoader) else "."


def render_template(env: jinja2.Environment, name: str, context: dict, root: str) -> bytes:
    """The template rendered as UTF-8; PageError naming template file:line on failure."""
    try:
        return env.get_template(name).render(context).encode("utf-8")
    except jinja2.TemplateNotFound as exc:
        raise PageError(f"template {exc.name!r} not found in "
                        f"{_relative(_template_folder(env), root)}") from None
    except jinja2.TemplateSyntaxError as exc:
        where = f"{_relative(exc.filename, root)}:{exc.lineno}" if exc.filename else name
        raise PageError(f"{where}: template syntax error: {exc.message}") from None
    except Exception as exc:
        raise PageError(f"template {name} raised "
                        f"{describe(exc, _template_folder(env), root)}") from None


def fetch_snapshot(url: str, timeout: float) -> bytes:
    """The body of a 2xx GET response; PageError for anything else."""
    request = urllib.request.Request(url, headers={"User-Agent": f"assetpipe/{__version__}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        raise PageError(f"GET {url}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise PageError(f"GET {url}: {_reason(exc.reason, timeout)}") from None
    except (OSError, http.client.HTTPException) as exc:
        # Read timeouts and truncated bodies (IncompleteRead) land here.
        raise PageError(f"GET {url}: {_reason(exc, timeout)}") from None
    if not 200 <= status < 300:
        raise PageError(f"GET {url}: HTTP {status}, expected 2xx")
    if not body:
        raise PageError(f"GET {url}: empty response; keeping the last good page")
    return body


def publish_page(path: str, content: bytes, settings: Compress) -> bool:
    """Write the twins, then the page; True if the page's bytes changed.

    Twins go first so that once the new page is visible its twins are too;
    a twin that no longer pays (or is switched off) is removed, so a server
    never negotiates a stale encoding.
    """
    for suffix, twin in page_twins(path, content, settings).items():
        _replace_if_changed(path + suffix, twin)
    return _replace_if_changed(path, content)


def page_twins(path: str, content: bytes, settings: Compress) -> dict[str, bytes | None]:
    """Twin suffix -> bytes, or None where there must be no twin (build's rules)."""
    return twins.all_twins(content, settings) if is_compressible(path) else {}


def load_context_function(spec: str, root: str) -> Callable[[], object]:
    """Import "module:function" with the config's folder importable while
    it is imported (only then: it must not shadow the app's own modules)."""
    module_name, function_name = spec.split(":")
    added = root not in sys.path
    if added:
        sys.path.insert(0, root)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        if isinstance(exc, ModuleNotFoundError) and exc.name \
                and (module_name + ".").startswith(exc.name + "."):
            raise UsageError(f"pages.context: no module {module_name!r} in {root}") from None
        raise BuildError(f"importing {module_name} raised {describe(exc, root)}") from None
    finally:
        if added:
            sys.path.remove(root)
    function = getattr(module, function_name, None)
    if not callable(function):
        raise UsageError(f"pages.context: module {module_name!r} has no function "
                         f"{function_name!r}")
    return function


def describe(exc: BaseException, under: str, root: str | None = None) -> str:
    """`Type: message (file:line)`, the line being the deepest frame under `under`
    (shown relative to `root`, default `under`).

    Jinja rewrites tracebacks so template frames carry the template's file
    and line, which makes this name the template line for render errors too.
    """
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if f.filename.startswith(under + os.sep)]
    if not frames:
        return f"{type(exc).__name__}: {exc}"
    where = f"{_relative(frames[-1].filename, root or under)}:{frames[-1].lineno}"
    return f"{type(exc).__name__}: {exc} ({where})"


def summarize(results: list[PageResult], seconds: float) -> str:
    """One log line for a tick."""
    failed = sum(1 for r in results if r.error)
    written = sum(1 for r in results if r.written)
    return (f"pages: {len(results) - failed} rendered ({written} written, "
            f"{len(results) - failed - written} unchanged), {failed} failed in {seconds:.2f} s")


def _replace_if_changed(path: str, content: bytes | None) -> bool:
    try:
        with open(path, "rb") as f:
            current = f.read()
    except FileNotFoundError:
        current = None
    if current == content:
        return False
    if content is None:
        os.unlink(path)
    else:
        write_atomic(path, content)
    return True


def _reason(exc: BaseException | str, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"no response within {timeout:g} s"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException) else str(exc)


def _relative(path: str, root: str) -> str:
    return os.path.relpath(path, root) if path.startswith(root + os.sep) else path
