"""`assetpipe pages`: rendering, snapshots, atomic publishing, the timer, units.

Snapshots are fetched from a real ThreadingHTTPServer on 127.0.0.1 whose
status and body the test controls; the timer runs for real (0.2 s period)
and tests synchronise by polling file content or tick results against a
deadline, never by sleeping a fixed time.
"""
from __future__ import annotations

import brotli
import gzip
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from assetpipe.build import build
from assetpipe.cli import main
from assetpipe.config import Compress, load_config
from assetpipe.errors import UsageError
from assetpipe.pages import PageRenderer, publish_page
from assetpipe.schedule import cron_schedule, run_every

REPO = Path(__file__).resolve().parent.parent
PERIOD = 0.2
DEADLINE = 10.0
# Lines of padding in a page (~15 KB), so a non-atomic publish (truncate,
# then write) would be caught empty or half-done by the reader.
PADDING = 600

INDEX = """<!doctype html>
<html>
<head>
{{ stylesheet_tag("css/site.css") }}
{{ script_tag("js/site.js", defer=True) }}
</head>
<body data-version="{{ version }}">
<h1>{{ title }}</h1>
{% for line in padding %}<p>{{ line }}</p>
{% endfor %}
</body>
</html>
"""

# The context module reads data.json on every call; "fail" makes it raise.
SITEDATA = '''
import json, os

def context():
    with open(os.path.join(os.path.dirname(__file__), "data.json")) as f:
        data = json.load(f)
    if data.get("fail"):
        raise RuntimeError("database is down")
    return data
'''


# ---------------------------------------------------------------- fixtures

def wait_for(condition, what: str, deadline: float = DEADLINE):
    """Poll `condition()` until it returns something truthy, or fail naming `what`."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    pytest.fail(f"timed out after {deadline} s waiting for {what}")


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


class Site:
    """A small site on disk: sources, two bundles, templates, a context module."""

    def __init__(self, root: Path):
        self.root = root
        # Unique per test: the context module is imported once per process.
        self.module = "sitedata_" + re.sub(r"\W", "_", root.parent.name)
        for rel, text in {"static/css/a.css": "body { color: red; }\n",
                          "static/css/b.css": ".x { margin: 0 auto; }\n",
                          "static/js/a.js": "var a = 1;\n",
                          "static/js/b.js": "var b = a + 1;\n",
                          "templates/index.html": INDEX,
                          f"{self.module}.py": SITEDATA}.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        self.set_data(version="v1")

    @property
    def output(self) -> Path:
        return self.root / "build" / "static"

    def page(self, rel: str = "index.html") -> Path:
        return self.output / rel

    def set_data(self, version: str, title: str = "Hello", fail: bool = False) -> None:
        data = {"version": version, "title": title, "fail": fail,
                "padding": [f"line {i} of {version}" for i in range(PADDING)]}
        write_atomically(self.root / "data.json", json.dumps(data))

    def configure(self, pages: str = '[[pages.page]]\ntemplate = "index.html"\npath = "index.html"\n',
                  extra: str = "", brotli: bool = True) -> Path:
        path = self.root / "assetpipe.toml"
        path.write_text(f"""
source = "static"
output = "build/static"
{extra}
[[bundle]]
name = "js/site.js"
files = ["js/a.js", "js/b.js"]

[[bundle]]
name = "css/site.css"
files = ["css/a.css", "css/b.css"]

[images]
png = "off"

[compress]
brotli = {str(brotli).lower()}

[pages]
context = "{self.module}:context"
timeout = 1
{pages}
""")
        return path

    def build(self):
        config = load_config(str(self.root / "assetpipe.toml"))
        build(config, workers=1)
        return config


@pytest.fixture
def site(tmp_path) -> Site:
    return Site(tmp_path / "site")


class Dynamic(BaseHTTPRequestHandler):
    """Serves server.status / server.body for every GET; server.delay stalls it."""

    def do_GET(self):
        server = self.server
        time.sleep(server.delay)
        self.send_response(server.status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(server.body)))
        self.end_headers()
        self.wfile.write(server.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Dynamic)
    httpd.status, httpd.body, httpd.delay = 200, b"<p>best v1</p>\n", 0.0
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/bestsellers"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def snapshot_pages(url: str) -> str:
    return (f'[[pages.page]]\ntemplate = "index.html"\npath = "index.html"\n\n'
            f'[[pages.page]]\nurl = "{url}"\npath = "bestsellers/index.html"\n')


def free_port() -> int:
    """A port nothing listens on (bound, then released), for connection refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- config

def test_config_defaults(site):
    site.configure()
    config = load_config(str(site.root / "assetpipe.toml"))
    assert config.pages.templates == str(site.root / "templates")
    assert config.pages.output == config.output
    assert config.pages.every == 300.0
    assert [(p.path, p.template, p.url) for p in config.pages.pages] == [
        ("index.html", "index.html", None)]


@pytest.mark.parametrize("pages, message", [
    ('[[pages.page]]\ntempalte = "index.html"\npath = "index.html"\n',
     "unknown config key 'pages.page[0].tempalte' (did you mean 'pages.page[0].template'?)"),
    ('evry = 5\n', "unknown config key 'pages.evry' (did you mean 'pages.every'?)"),
    ('every = 0\n', "pages.every: expected a positive number"),
    ('[[pages.page]]\npath = "index.html"\n', "needs exactly one of 'template' or 'url'"),
    ('[[pages.page]]\ntemplate = "a.html"\npath = "../a.html"\n', "pages.page[0].path"),
    ('[[pages.page]]\nurl = "ftp://x/a"\npath = "a.html"\n', "is not an http:// or https:// URL"),
    ('output = "static/pages"\n', "pages.output: 'static/pages' is inside source"),
])
def test_config_errors_name_the_key(site, pages, message):
    site.configure(pages=pages)
    with pytest.raises(UsageError, match=re.escape(message)):
        load_config(str(site.root / "assetpipe.toml"))


# ---------------------------------------------------------------- rendering

def test_page_carries_versioned_urls_and_integrity(site):
    site.configure()
    config = site.build()
    assert PageRenderer(config).render_all()[0].error is None
    html = site.page().read_text()
    manifest = json.loads((site.output / "manifest.json").read_text())["assets"]
    for name, tag in (("js/site.js", "script"), ("css/site.css", "link")):
        entry = manifest[name]
        assert re.search(r"\.v[0-9a-f]{10}\.", entry["path"])
        attr = "src" if tag == "script" else "href"
        assert (f'{attr}="/static/{entry["path"]}" integrity="{entry["integrity"]}" '
                'crossorigin="anonymous"') in html


def test_context_values_are_escaped(site):
    site.configure()
    config = site.build()
    site.set_data(version="v1", title="<script>alert(1)</script>")
    PageRenderer(config).render_all()
    html = site.page().read_text()
    assert "<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>" in html
    assert "<script>alert" not in html


def test_new_build_changes_the_urls_on_the_next_render(site):
    site.configure()
    config = site.build()
    renderer = PageRenderer(config)
    renderer.render_all()
    old = site.page().read_text()
    (site.root / "static/css/b.css").write_text(".x { margin: 1px; }\n")
    site.build()
    assert renderer.render_all()[0].written
    new = site.page().read_text()
    css = json.loads((site.output / "manifest.json").read_text())["assets"]["css/site.css"]
    assert css["path"] in new and css["path"] not in old


def test_unchanged_page_is_not_rewritten(site):
    site.configure()
    config = site.build()
    renderer = PageRenderer(config)
    assert renderer.render_all()[0].written
    before = [os.stat(site.page(name)) for name in ("index.html", "index.html.gzip",
                                                     "index.html.br")]
    time.sleep(0.01)   # let a rewrite, if any, show up as a different mtime_ns
    assert not renderer.render_all()[0].written
    after = [os.stat(site.page(name)) for name in ("index.html", "index.html.gzip",
                                                    "index.html.br")]
    assert [(s.st_ino, s.st_mtime_ns) for s in before] == [(s.st_ino, s.st_mtime_ns) for s in after]


def test_twins_decompress_to_the_page(site):
    site.configure()
    PageRenderer(site.build()).render_all()
    page = site.page().read_bytes()
    assert gzip.decompress(site.page("index.html.gzip").read_bytes()) == page
    assert brotli.decompress(site.page("index.html.br").read_bytes()) == page


def test_twins_follow_compress_settings(tmp_path):
    path = str(tmp_path / "p.html")
    content = b"<p>hello</p>\n" * 200
    assert publish_page(path, content, Compress(gzip_suffix=".gz", brotli=True))
    assert gzip.decompress((tmp_path / "p.html.gz").read_bytes()) == content
    assert (tmp_path / "p.html.br").exists()
    # Brotli switched off: the stale twin goes, the unchanged page stays put.
    assert not publish_page(path, content, Compress(gzip_suffix=".gz", brotli=False))
    assert not (tmp_path / "p.html.br").exists()
    # A page too small to profit gets no twin at all.
    assert publish_page(str(tmp_path / "tiny.html"), b"<p>", Compress())
    assert sorted(os.listdir(tmp_path)) == ["p.html", "p.html.gz", "tiny.html"]


def test_template_error_names_file_and_line_and_keeps_last_page(site):
    site.configure()
    config = site.build()
    renderer = PageRenderer(config)
    renderer.render_all()
    good = site.page().read_bytes()
    template = site.root / "templates/index.html"
    template.write_text("<p>\n{{ title }}\n{{ title.missing.deeper }}\n</p>\n")
    (result,) = renderer.render_all()
    assert "templates/index.html:3" in result.error and "UndefinedError" in result.error
    template.write_text("<p>\n{% for x in %}\n")
    (result,) = renderer.render_all()
    assert result.error.startswith("templates/index.html:2: template syntax error")
    assert site.page().read_bytes() == good


def test_context_exception_keeps_last_page(site):
    site.configure()
    renderer = PageRenderer(site.build())
    renderer.render_all()
    good = site.page().read_bytes()
    site.set_data(version="v2", fail=True)
    (result,) = renderer.render_all()
    assert "raised RuntimeError: database is down" in result.error
    assert f"{site.module}.py:8" in result.error
    assert site.page().read_bytes() == good


# ---------------------------------------------------------------- snapshots

def test_snapshot_published_and_failures_keep_it(site, server):
    site.configure(pages=snapshot_pages(server.url))
    renderer = PageRenderer(site.build())
    assert [r.error for r in renderer.render_all()] == [None, None]
    page = site.page("bestsellers/index.html")
    assert page.read_bytes() == b"<p>best v1</p>\n"

    server.status, server.body = 500, b"<p>oops</p>"
    error = renderer.render_all()[1].error
    assert error.endswith("HTTP 500 Internal Server Error") and server.url in error
    server.status, server.body, server.delay = 200, b"<p>slow</p>", 1.5
    assert "no response within 1 s" in renderer.render_all()[1].error
    assert page.read_bytes() == b"<p>best v1</p>\n"

    server.delay, server.body = 0.0, b"<p>best v2</p>\n"
    assert renderer.render_all()[1].written
    assert page.read_bytes() == b"<p>best v2</p>\n"


def test_snapshot_connection_refused(site):
    url = f"http://127.0.0.1:{free_port()}/bestsellers"
    site.configure(pages=snapshot_pages(url))
    results = PageRenderer(site.build()).render_all()
    assert results[0].error is None
    assert results[1].error == f"GET {url}: Connection refused"
    assert not site.page("bestsellers/index.html").exists()


# ---------------------------------------------------------------- the timer

class Reader(threading.Thread):
    """Reads the page as fast as it can; records every read that is not whole."""

    def __init__(self, path: Path, versions: set[str]):
        super().__init__(daemon=True)
        self.path, self.versions = path, versions
        self.stop, self.bad, self.reads = threading.Event(), [], 0

    def run(self):
        while not self.stop.is_set():
            data = read_or_none(self.path)
            self.reads += 1
            if data is None:
                self.bad.append("missing")
                continue
            text = data.decode()
            match = re.search(r'data-version="(\w+)"', text)
            if not (text.startswith("<!doctype html>") and text.endswith("</html>\n")
                    and match and match.group(1) in self.versions
                    and text.count("<p>line ") == PADDING):
                self.bad.append(text[-80:])
            # A breath between reads lets the renderer thread have the GIL:
            # still thousands of reads a second.
            time.sleep(0.0002)


def test_timer_publishes_changes_survives_failures_and_recovers(site, server):
    site.configure(pages=snapshot_pages(server.url))
    renderer = PageRenderer(site.build())
    ticks: list[list] = []
    stop = threading.Event()
    loop = threading.Thread(target=run_every,
                            args=(PERIOD, lambda: ticks.append(renderer.render_all()), stop))
    loop.start()
    page, snapshot = site.page(), site.page("bestsellers/index.html")
    wait_for(lambda: page.exists() and snapshot.exists(), "the first render")
    reader = Reader(page, {"v1", "v2", "v3", "v4"})
    reader.start()

    def failed_tick(index: int):
        """Wait for a tick after this point whose page `index` failed; its error."""
        start = len(ticks)
        return wait_for(lambda: next((t[index].error for t in ticks[start:]
                                      if t[index].error), None), "a failing tick")

    def page_shows(version: str):
        # Within two periods of the change, plus room for the render itself
        # (~0.1 s with brotli) on a busy machine.
        return wait_for(lambda: f'data-version="{version}"' in page.read_text(),
                        f"page version {version}", deadline=2 * PERIOD + 0.5)

    try:
        page_shows("v1")
        site.set_data(version="v2")
        page_shows("v2")

        site.set_data(version="v3", fail=True)            # context raises
        assert "database is down" in failed_tick(0)
        assert 'data-version="v2"' in page.read_text()
        site.set_data(version="v3")                       # recovery
        page_shows("v3")

        template = site.root / "templates/index.html"
        write_atomically(template, INDEX.replace("</h1>", "</h1>{{ nope() }}"))
        assert "templates/index.html:8" in failed_tick(0)
        site.set_data(version="v4")
        write_atomically(template, INDEX)
        page_shows("v4")

        server.status = 500                               # snapshot failure
        assert "HTTP 500" in failed_tick(1)
        server.status, server.body = 200, b"<p>best v2</p>\n"
        wait_for(lambda: snapshot.read_bytes() == b"<p>best v2</p>\n", "snapshot v2")
    finally:
        stop.set()
        loop.join(timeout=5)
        reader.stop.set()
        reader.join(timeout=5)
    assert not loop.is_alive()
    assert reader.reads > 100 and reader.bad == []


def test_run_every_stops_promptly_when_the_event_is_set():
    stop, calls = threading.Event(), []
    loop = threading.Thread(target=run_every, args=(60.0, lambda: calls.append(1), stop))
    loop.start()
    wait_for(lambda: calls, "the first tick")
    started = time.monotonic()
    stop.set()
    loop.join(timeout=5)
    assert not loop.is_alive() and time.monotonic() - started < 1 and calls == [1]


def test_sigterm_ends_the_loop_cleanly(site):
    config = site.configure()
    site.build()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "assetpipe", "pages", "--every", str(PERIOD),
                             "--config", str(config)], env=env, cwd=site.root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: site.page().exists() or proc.poll() is not None, "the page")
        assert proc.poll() is None, proc.stderr.read()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=3)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "pages: 1 rendered" in out and out.rstrip().endswith("stopped")


# ---------------------------------------------------------------- command line

def test_main_once_renders_all_pages(site, server, capsys):
    config = site.configure(pages=snapshot_pages(server.url))
    site.build()
    assert main(["pages", "--once", "--config", str(config)]) == 0
    assert site.page().exists() and site.page("bestsellers/index.html").exists()
    assert "pages: 2 rendered (2 written, 0 unchanged), 0 failed" in capsys.readouterr().out


def test_main_once_exits_1_naming_the_page_after_trying_all(site, server, capsys):
    config = site.configure(pages=snapshot_pages(server.url))
    site.build()
    server.status = 503
    assert main(["pages", "--once", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert f"error: page bestsellers/index.html: GET {server.url}: HTTP 503" in err
    assert "error: 1 of 2 pages failed" in err
    assert site.page().exists()          # the other page was still rendered


def test_main_without_pages_section_is_a_usage_error(site, capsys):
    config = site.configure()
    config.write_text(config.read_text().split("[pages]")[0])
    assert main(["pages", "--config", str(config)]) == 2
    assert "no [pages] section" in capsys.readouterr().err


def test_main_context_module_missing_is_a_usage_error(site, capsys):
    config = site.configure()
    config.write_text(config.read_text().replace(f"{site.module}:context", "nosuch:context"))
    assert main(["pages", "--once", "--config", str(config)]) == 2
    assert "pages.context: no module 'nosuch'" in capsys.readouterr().err


def test_main_before_any_build_names_the_missing_manifest(site, capsys):
    config = site.configure()
    assert main(["pages", "--once", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "error: page index.html: " in err and "manifest.json not found" in err


def test_main_systemd_prints_service_and_timer(site, capsys):
    config = site.configure(extra="")
    assert main(["pages", "--systemd", "shop-pages", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "# ---- shop-pages.service ----" in out and "# ---- shop-pages.timer ----" in out
    exec_start = re.search(r"^ExecStart=(.*)$", out, re.M).group(1)
    assert exec_start.endswith(f"pages --once --config {config}")
    assert os.path.isabs(exec_start.split()[0])
    assert "Type=oneshot" in out and "OnUnitActiveSec=300s" in out
    assert "WantedBy=timers.target" in out


def test_main_systemd_rejects_a_bad_unit_name(site, capsys):
    config = site.configure()
    assert main(["pages", "--systemd", "my pages", "--config", str(config)]) == 2
    assert "not a valid systemd unit name" in capsys.readouterr().err


def test_main_cron_prints_a_crontab_line(site, capsys):
    config = site.configure()
    assert main(["pages", "--cron", "--every", "600", "--config", str(config)]) == 0
    comment, line = capsys.readouterr().out.splitlines()
    assert comment.startswith("# assetpipe pages, every 10 min")
    assert line.startswith("*/10 * * * * /")
    assert line.endswith(f"pages --once --config {config} >/dev/null")


@pytest.mark.parametrize("every, fields, period", [
    (0.2, "* * * * *", 60), (300, "*/5 * * * *", 300), (420, "*/10 * * * *", 600),
    (3600, "0 * * * *", 3600), (5 * 3600, "0 */6 * * *", 6 * 3600), (10 ** 6, "0 0 * * *", 86400),
])
def test_cron_schedule_repeats_evenly(every, fields, period):
    assert cron_schedule(every) == (fields, period)


def test_example_site_renders(tmp_path, capsys):
    root = tmp_path / "site"
    shutil.copytree(REPO / "examples/site", root, ignore=shutil.ignore_patterns("build"))
    config = root / "assetpipe.toml"
    assert main(["build", "--quiet", "--config", str(config)]) == 0
    assert main(["pages", "--once", "--config", str(config)]) == 0
    html = (root / "build/static/index.html").read_text()
    assert re.search(r'<script src="/static/js/site\.v[0-9a-f]{10}\.js" integrity="sha384-', html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_pages_dev_emits_one_tag_per_bundle_member(tmp_path):
    root = tmp_path / "site"
    shutil.copytree(REPO / "examples/site", root, ignore=shutil.ignore_patterns("build"))
    config = str(root / "assetpipe.toml")
    assert main(["build", "--quiet", "--config", config]) == 0
    manifest = json.loads((root / "build/static/manifest.json").read_text())["assets"]
    page = root / "build/static/index.html"

    assert main(["pages", "--once", "--config", config]) == 0
    prod = re.findall(r'<script src="/static/([^"]+)"', page.read_text())
    assert prod == [manifest["js/site.js"]["path"]]

    assert main(["pages", "--once", "--dev", "--config", config]) == 0
    dev = re.findall(r'<script src="/static/([^"]+)"', page.read_text())
    assert dev == [manifest[m]["path"] for m in manifest["js/site.js"]["sources"]]
    assert len(dev) == 3
