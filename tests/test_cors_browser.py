"""SRI assets from another origin, in headless Chromium, on each real server.

A page on 127.0.0.1:PORT_A (a plain http.server) carries `script_tag` and
`stylesheet_tag` output (integrity + crossorigin="anonymous") pointing at
127.0.0.1:PORT_B, where apache2, nginx or caddy serves the build with the
generated rules.  With CORS on (the default for a url_prefix naming another
origin) the script runs and the stylesheet applies; with `[serve] cors =
"off"` the browser blocks both (the negative control).  Chromium asks for
gzip over http, so the twin responses are the ones that must carry the header.
"""
from __future__ import annotations

import functools
import html
import re
import shutil
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jinja2
import pytest
import test_servers
from apache_httpd import world_readable_tmpdir
from conftest import missing_tool, write_tree
from test_servers import SERVERS

from assetpipe import Manifest
from assetpipe.jinja import install

pytestmark = pytest.mark.integration
servers_available = test_servers.servers_available  # autouse: fail when a server is missing

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--virtual-time-budget=5000", "--dump-dom"]
# Long enough for gzip twins: the browser then gets the twin responses.
SOURCES = {
    "js/probe.js": "document.documentElement.setAttribute('data-script', 'ran');\n"
                   + "".join(f"window.probe{i} = 'value number {i}';\n" for i in range(60)),
    "css/probe.css": "#probe { color: rgb(1, 2, 3); }\n"
                     + "".join(f".filler-{i} {{ margin: {i}px; }}\n" for i in range(60)),
}
PAGE = """<!doctype html><html><head><meta charset="utf-8">
{{ stylesheet_tag("css/probe.css") }}
{{ script_tag("js/probe.js") }}
</head><body><p id="probe">probe</p>
<script>
window.addEventListener("load", function () {
  var color = getComputedStyle(document.getElementById("probe")).color;
  document.documentElement.setAttribute("data-color", color);
});
</script></body></html>
"""


@pytest.fixture(scope="module")
def chromium() -> str:
    if shutil.which(CHROMIUM) is None:
        missing_tool(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    return CHROMIUM


@pytest.fixture(scope="module")
def page_origin():
    """Origin A: a plain static server for the pages."""
    root = world_readable_tmpdir("assetpipe-page-origin-")
    handler = functools.partial(QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    shutil.rmtree(root, ignore_errors=True)


class QuietHandler(SimpleHTTPRequestHandler):
    accept_encodings: list[str] = []   # what Chromium asked with: the assets get the same

    def do_GET(self):
        self.accept_encodings.append(self.headers.get("Accept-Encoding", ""))
        super().do_GET()

    def log_message(self, *args):
        pass


def asset_origin(kind: str, cors: str, sources: dict = SOURCES, rules_first: bool = False):
    """Origin B: build with url_prefix on PORT_B, write `kind`'s rules, start it
    (`rules_first`: rules written before the build, test_servers.serve_built)."""
    workdir = world_readable_tmpdir(f"assetpipe-cors-{kind}-")
    write_tree(workdir / "static", sources)
    config, server = test_servers.serve_built(kind, workdir, lambda port: (
        f'source = "static"\noutput = "out"\nurl_prefix = "http://127.0.0.1:{port}/static/"\n'
        f'[serve]\ncors = "{cors}"\n[nginx]\nlisten = "127.0.0.1:{port}"\n'), rules_first)
    return Path(config.output), server


def load_in_chromium(chromium: str, page_root: Path, page_url: str, output: Path,
                     name: str, page: str = PAGE) -> str:
    """Render the page with the Jinja helpers, load it from origin A, return the DOM."""
    env = jinja2.Environment(autoescape=True)
    install(env, Manifest.load(str(output / "manifest.json")))
    (page_root / f"{name}.html").write_text(env.from_string(page).render(), encoding="utf-8")
    profile = page_root / f"profile-{name}"
    result = subprocess.run([chromium, *CHROMIUM_ARGS, f"--user-data-dir={profile}",
                             f"{page_url}/{name}.html"], capture_output=True, text=True,
                            timeout=120)
    assert "<html" in result.stdout, result.stderr[-2000:]
    return result.stdout


@pytest.mark.parametrize("kind", SERVERS)
def test_sri_assets_from_another_origin(kind, chromium, page_origin):
    page_root, page_url = page_origin
    doms = {}
    for cors in ("auto", "off"):
        output, server = asset_origin(kind, cors)
        try:
            assert list((output / "css").glob("probe.v*.css.gzip"))
            assert list((output / "js").glob("probe.v*.js.gzip"))
            doms[cors] = load_in_chromium(chromium, page_root, page_url, output, f"{kind}-{cors}")
        finally:
            server.cleanup()
    # CORS on: the script ran and the stylesheet applied (both SRI-checked).
    assert 'data-script="ran"' in doms["auto"]
    assert re.search(r'data-color="rgb\(1, 2, 3\)"', doms["auto"])
    # CORS off, the same page: the browser blocked both.
    assert "data-script" not in doms["off"]
    assert 'data-color="rgb(0, 0, 0)"' in doms["off"]
    # Chromium accepts gzip, and the build wrote gzip twins: the responses
    # that had to carry the CORS headers were the twins.
    seen = QuietHandler.accept_encodings
    assert seen and all("gzip" in header for header in seen)


# --- issue 12 item 11: a stylesheet that is not UTF-8 ----------------------------------
# ISO-8859-1 with `@charset "iso-8859-1";`: "caf\xe9" is one byte 0xE9.  Browsers
# take a stylesheet's encoding from the BOM, then the Content-Type charset, then
# @charset, then the page's (UTF-8 here), so only a response without
# charset=utf-8 lets the @charset decide.  Long enough for gzip twins: Chromium
# asks for gzip, so the twins are what it decodes.
CHARSET_SOURCES = {
    "css/latin1.css": ('@charset "iso-8859-1";\n#latin1::before { content: "caf\xe9"; }\n'
                       + "".join(f".l{i} {{ margin: {i}px; }} /* r\xe9serv\xe9 */\n"
                                 for i in range(60))).encode("latin-1"),
    "css/utf8.css": '#utf8::before { content: "café"; }\n'
                    + "".join(f".u{i} {{ margin: {i}px; }} /* réservé */\n" for i in range(60)),
}
CHARSET_PAGE = """<!doctype html><html><head><meta charset="utf-8">
{{ stylesheet_tag("css/latin1.css") }}
{{ stylesheet_tag("css/utf8.css") }}
</head><body><p id="latin1"></p><p id="utf8"></p>
<script>
window.addEventListener("load", function () {
  ["latin1", "utf8"].forEach(function (id) {
    var content = getComputedStyle(document.getElementById(id), "::before").content;
    document.documentElement.setAttribute("data-" + id, content);
  });
});
</script></body></html>
"""


def computed_content(dom: str, element: str) -> str:
    found = re.search(rf'data-{element}="([^"]*)"', dom)
    assert found, dom[:2000]
    return html.unescape(found.group(1))


@pytest.mark.parametrize("kind", SERVERS)
def test_latin1_stylesheet_reads_cafe_in_chromium(kind, chromium, page_origin):
    """The generated rules serve the Latin-1 stylesheet (its gzip twin, to
    Chromium) without charset=utf-8: its @charset decides and `content` reads
    "café"; the UTF-8 control reads "café" too.  Negative control: the same
    files under rules made before the build (no exception: charset=utf-8, as
    every .css was before) read "caf\ufffd"."""
    page_root, page_url = page_origin
    doms = {}
    for rules_first in (False, True):
        output, server = asset_origin(kind, "auto", CHARSET_SOURCES, rules_first)
        try:
            assert list((output / "css").glob("latin1.v*.css.gzip"))
            doms[rules_first] = load_in_chromium(chromium, page_root, page_url, output,
                                                 f"{kind}-charset-{rules_first}", CHARSET_PAGE)
        finally:
            server.cleanup()
    assert computed_content(doms[False], "latin1") == '"café"'
    assert computed_content(doms[False], "utf8") == '"café"'
    assert computed_content(doms[True], "latin1") == '"caf\ufffd"'
    assert computed_content(doms[True], "utf8") == '"café"'
