"""assetpipe.contrib.flask: a real Flask app (tests/fixtures/flask_site).

The test client: `url_for("static", …)` and the helpers give versioned URLs.
A real server (waitress) serving the app: the page renders in headless
Chromium with its script running, and not with a wrong integrity.
"""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from conftest import load_manifest, missing_tool, sri
from framework_servers import FIXTURES, WsgiServer, build_site

from assetpipe.contrib import ManifestUnavailable

CHROMIUM = "chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--virtual-time-budget=5000"]


@pytest.fixture(scope="module", autouse=True)
def importable():
    """tests/fixtures on sys.path, so `flask_site` imports (as it does in the server)."""
    sys.path.insert(0, str(FIXTURES))
    yield
    sys.path.remove(str(FIXTURES))


@pytest.fixture(scope="module")
def output(tmp_path_factory):
    root = tmp_path_factory.mktemp("flask-site")
    build_site(root)
    return root / "out"


@pytest.fixture(scope="module")
def app(output):
    from flask_site.app import create_app
    return create_app(str(output))


def test_url_for_static_is_versioned_when_the_manifest_has_the_name(app, output):
    from flask import url_for
    assets = load_manifest(output)["assets"]
    with app.test_request_context():
        assert url_for("static", filename="js/app.js") == "/static/" + assets["js/app.js"]["path"]
        assert url_for("static", filename="js/app.js", _external=True) == (
            "http://localhost/static/" + assets["js/app.js"]["path"])
        assert url_for("static", filename="js/unknown.js") == "/static/js/unknown.js"


def test_page_uses_versioned_urls_and_sri(app, output):
    assets = load_manifest(output)["assets"]
    html = app.test_client().get("/").get_data(as_text=True)
    css, js = assets["css/site.css"]["path"], assets["js/app.js"]["path"]
    assert f'<link rel="stylesheet" href="/static/{css}">' in html          # url_for
    assert (f'<link rel="stylesheet" href="/static/{css}" integrity="'
            f'{sri((output / css).read_bytes())}" crossorigin="anonymous">') in html
    assert (f'<script src="/static/{js}" integrity="{sri((output / js).read_bytes())}" '
            'crossorigin="anonymous"></script>') in html
    assert f'<img src="/static/{assets["img/dot.svg"]["path"]}"' in html


def test_versioned_file_is_served_by_the_static_route(app, output):
    path = load_manifest(output)["assets"]["js/app.js"]["path"]
    got = app.test_client().get("/static/" + path)
    assert got.status_code == 200 and got.data == (output / path).read_bytes()


def test_missing_manifest_names_the_config_key(tmp_path):
    from flask_site.app import create_app
    with pytest.raises(ManifestUnavailable,
                       match=r"^ASSETPIPE_MANIFEST: cannot read .*manifest\.json"):
        create_app(str(tmp_path))


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which(CHROMIUM)
    if found is None:
        missing_tool("chromium not found: install it (apt-get install chromium)")
    return str(found)


@pytest.fixture(scope="module")
def server(output):
    srv = WsgiServer("flask_site.app:create_app", {"FLASK_SITE_OUTPUT": str(output)})
    yield srv
    srv.stop()


def dump_dom(chromium: str, url: str, profile) -> str:
    result = subprocess.run([chromium, *CHROMIUM_ARGS, f"--user-data-dir={profile}",
                             "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert "<body>" in result.stdout, result.stderr[-2000:]
    return result.stdout


def test_page_runs_its_script_in_chromium(chromium, server, tmp_path):
    assert server.get("/").status == 200
    dom = dump_dom(chromium, server.base_url + "/", tmp_path / "profile")
    assert '<p id="out">ran</p>' in dom
    # Negative control: the same script under a wrong integrity must not run.
    wrong = "sha384-" + "A" * 64
    dom = dump_dom(chromium, f"{server.base_url}/?integrity={wrong}", tmp_path / "profile2")
    assert f'integrity="{wrong}"' in dom and '<p id="out">not run</p>' in dom


@pytest.mark.parametrize("preset", [True, False])
def test_whitenoise_wsgi_preset_caches_versioned_names_forever(output, preset):
    """The plain WSGI WhiteNoise (any app): with WSGI_OPTIONS a versioned name is
    immutable and a plain one short-cached; without, no name is immutable."""
    from flask_site.app import create_app
    from whitenoise import WhiteNoise

    from assetpipe.contrib.whitenoise import WSGI_OPTIONS
    app = create_app(str(output))
    app.wsgi_app = WhiteNoise(app.wsgi_app, root=str(output), prefix="static/",
                              **(WSGI_OPTIONS if preset else {}))
    client = app.test_client()
    entry = load_manifest(output)["assets"]["js/app.js"]
    versioned = client.get("/static/" + entry["path"], headers={"Accept-Encoding": "br"})
    assert versioned.status_code == 200 and versioned.headers["Content-Encoding"] == "br"
    assert versioned.data == (output / entry["encodings"]["br"]).read_bytes()
    plain = client.get("/static/js/app.js")
    if preset:
        assert versioned.headers["Cache-Control"] == "max-age=315360000, public, immutable"
        assert plain.headers["Cache-Control"] == "max-age=300, public"
    else:
        assert "immutable" not in versioned.headers["Cache-Control"]
