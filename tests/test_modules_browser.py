"""Issue 14 acceptance: a module app runs in real headless Chromium, served
by real Apache with the generated rules, built with keep_unversioned = false.

The app (tests/fixtures/module-app) has a static import chain, an import
cycle, a bare specifier mapped by `importmap_tag()`, a dynamic import and a
module worker via `new URL(..., import.meta.url)`; on success it writes
"PASS ..." into the DOM, read back with `chromium --dump-dom`.  The same app
built with module rewriting off is the negative control: its imports name
plain files that keep_unversioned = false does not publish.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import jinja2
import pytest
from apache_httpd import apache_missing_message
from conftest import missing_tool
from test_apache import serve
from test_build_references import chromium  # noqa: F401  (fixture)

from assetpipe import Manifest
from assetpipe.jinja import install

pytestmark = pytest.mark.integration

APP = Path(__file__).parent / "fixtures" / "module-app" / "static"
EXPECTED = "PASS hello-leaf cycle-ba MAP lazy worker-leaf"
CONFIG = '[versioning]\nkeep_unversioned = false\n[importmap]\nlodash = "vendor/lodash.js"\n'
PAGE = """<!doctype html>
<html><head><meta charset="utf-8">
{{ importmap_tag("js/app.mjs") }}
{{ modulepreload_tags("js/app.mjs") }}
</head><body><div id="result">not run</div>
{{ script_tag("js/app.mjs", type="module") }}
</body></html>
"""
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def dump_dom(browser: str, url: str, profile: Path) -> str:
    """The DOM once the page settled; --virtual-time-budget lets the module
    graph, the dynamic import and the worker finish before the dump."""
    command = [browser, *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=10000",
               "--dump-dom", url]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def run_app(request, browser: str, tmp_path: Path, extra: str) -> str:
    if apache_missing_message():
        missing_tool(apache_missing_message())
    site = serve("/static/", CONFIG + extra, source=APP)
    request.addfinalizer(site.httpd.cleanup)
    env = jinja2.Environment(autoescape=True)
    install(env, Manifest.load(site.output / "manifest.json"), dev=False)
    (site.output / "index.html").write_text(env.from_string(PAGE).render())
    return dump_dom(browser, site.base + "index.html", tmp_path / "profile")


def test_module_app_runs_in_chromium_behind_apache(request, chromium, tmp_path):  # noqa: F811
    dom = run_app(request, chromium, tmp_path, "")
    assert f'<div id="result">{EXPECTED}</div>' in dom, dom[-3000:]


def test_negative_control_without_rewriting_the_app_fails(request, chromium, tmp_path):  # noqa: F811
    dom = run_app(request, chromium, tmp_path, "[references]\nmodules = false\n")
    assert '<div id="result">not run</div>' in dom, dom[-3000:]
    assert "PASS" not in dom
