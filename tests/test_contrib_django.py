"""assetpipe.contrib.django: a real Django project (tests/fixtures/django_site).

In-process through Django's test client: `{% static %}` and the asset tags
give versioned URLs with SRI, the same bytes as the Jinja helpers; a
missing name fails; the system check fires.  Then the same project under a
real WSGI server (waitress) with WhiteNoise on 127.0.0.1: caching by name,
br/gzip twins with Vary, and nothing of the build's own state served.
"""
from __future__ import annotations

import json
import os
import shutil
import sys

import jinja2
import pytest
from conftest import build_dir, load_manifest, sri, state_dir, write_config, write_tree
from framework_servers import FIXTURES, WsgiServer, build_site

from assetpipe.manifest import AssetNotFound, Manifest

FOREVER = "max-age=315360000, public, immutable"   # WhiteNoise's "forever"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built for WhiteNoise (.gz + .br), and Django set up on its output."""
    root = tmp_path_factory.mktemp("django-site")
    cfg = build_site(root)
    output = root / "out"
    os.environ["DJANGO_SETTINGS_MODULE"] = "django_site.settings"
    os.environ["DJANGO_SITE_STATIC_ROOT"] = str(output)
    sys.path.insert(0, str(FIXTURES))
    import django
    django.setup()
    return cfg, output


@pytest.fixture
def client(site):
    from django.test import Client
    return Client()


def test_static_and_asset_tags_give_versioned_urls_with_sri(site, client):
    _, output = site
    assets = load_manifest(output)["assets"]
    html = client.get("/").content.decode()
    css, js = assets["css/site.css"]["path"], assets["js/all.js"]["path"]
    assert f'<link rel="stylesheet" href="/static/{css}">' in html      # {% static %}
    assert (f'<link rel="stylesheet" href="/static/{css}" '
            f'integrity="{sri((output / css).read_bytes())}" crossorigin="anonymous" '
            'media="screen">') in html
    assert (f'<script src="/static/{js}" integrity="{sri((output / js).read_bytes())}" '
            'crossorigin="anonymous" defer></script>') in html
    assert f'<img src="/static/{assets["img/dot.svg"]["path"]}"' in html
    assert "/static/css/site.css" not in html and "/static/js/all.js" not in html


def test_tags_print_exactly_what_the_jinja_helpers_print(site, client):
    from assetpipe.jinja import install
    _, output = site
    env = jinja2.Environment(autoescape=True)
    install(env, Manifest.load(output / "manifest.json"), dev=False)
    expected = env.from_string(
        '{{ stylesheet_tag("css/site.css", media="screen") }}\n'
        '{{ script_tag("js/all.js", defer=True) }}').render()
    html = client.get("/").content.decode()
    for line in expected.split("\n"):
        assert line in html


def test_dev_mode_expands_the_bundle(site):
    from django.template import Context, Template
    from django.test import override_settings
    _, output = site
    assets = load_manifest(output)["assets"]
    with override_settings(ASSETPIPE_DEV=True):
        html = Template('{% load assetpipe %}{% asset_script "js/all.js" %}').render(Context())
    assert [line.split('"')[1] for line in html.split("\n")] == [
        "/static/" + assets["js/a.js"]["path"], "/static/" + assets["js/b.js"]["path"]]


def test_query_and_fragment_are_kept(site):
    from django.templatetags.static import static
    path = load_manifest(site[1])["assets"]["img/dot.svg"]["path"]
    assert static("img/dot.svg?v=2#x") == f"/static/{path}?v=2#x"
    assert static("img/dot.svg#x") == f"/static/{path}#x"


def test_missing_name_raises_naming_it_outside_debug(site):
    from django.template import Context, Template
    from django.test import override_settings
    template = Template('{% load static %}{% static "js/nope.js" %}')
    with pytest.raises(AssetNotFound) as caught:
        template.render(Context())
    assert "'js/nope.js' is not in " in str(caught.value)
    assert str(site[1] / "manifest.json") in str(caught.value)
    with override_settings(DEBUG=True):   # development: the plain URL
        assert template.render(Context()) == "/static/js/nope.js"
    with pytest.raises(AssetNotFound, match="js/nope.js"):
        Template('{% load assetpipe %}{% asset_script "js/nope.js" %}').render(Context())


def test_without_a_manifest_static_fails_naming_the_setting_unless_debug(site, tmp_path):
    from django.templatetags.static import static
    from django.test import override_settings

    from assetpipe.contrib import ManifestUnavailable
    missing = str(tmp_path / "manifest.json")
    with override_settings(ASSETPIPE_MANIFEST=missing):
        with pytest.raises(ManifestUnavailable) as caught:
            static("js/app.js")
        assert str(caught.value).startswith(f"ASSETPIPE_MANIFEST: cannot read {missing} (")
        with override_settings(DEBUG=True):      # before the first build, in development
            assert static("js/app.js") == "/static/js/app.js"


def _assetpipe_messages(**settings) -> list:
    from django.core import checks
    from django.test import override_settings
    with override_settings(**settings):
        return [m for m in checks.run_checks() if m.id.startswith("assetpipe.")]


def test_system_check_fires_on_a_missing_or_broken_manifest(site, tmp_path):
    assert _assetpipe_messages() == []     # the negative control: the real manifest passes
    missing = tmp_path / "nowhere" / "manifest.json"
    [message] = _assetpipe_messages(ASSETPIPE_MANIFEST=str(missing))
    assert (message.id, message.level) == ("assetpipe.E001", 40)
    assert message.msg.startswith(f"ASSETPIPE_MANIFEST: cannot read {missing} (")
    assert "assetpipe build" in message.hint
    [message] = _assetpipe_messages(ASSETPIPE_MANIFEST=str(missing), DEBUG=True)
    assert (message.id, message.level) == ("assetpipe.E001", 30)   # a warning in development
    broken = tmp_path / "manifest.json"
    broken.write_text("{not json")
    [message] = _assetpipe_messages(ASSETPIPE_MANIFEST=str(broken))
    assert message.id == "assetpipe.E002" and "ASSETPIPE_MANIFEST" in message.msg
    [message] = _assetpipe_messages(STATIC_ROOT=None)
    assert message.id == "assetpipe.E001" and "ASSETPIPE_MANIFEST: not set" in message.msg


def test_system_check_warns_when_whitenoise_cannot_serve_the_twins(site, tmp_path):
    build_site(tmp_path, extra="")   # the default gzip_suffix, ".gzip"
    manifest = str(tmp_path / "out" / "manifest.json")
    [message] = _assetpipe_messages(ASSETPIPE_MANIFEST=manifest)
    assert message.id == "assetpipe.W001"
    assert "gzip twins end in .gzip; WhiteNoise only serves .gz" in message.msg
    assert 'gzip_suffix = ".gz"' in message.hint
    assert _assetpipe_messages(ASSETPIPE_MANIFEST=manifest, MIDDLEWARE=[]) == []


# --- the same project under a real WSGI server, with WhiteNoise --------------------------

@pytest.fixture(scope="module")
def server(site):
    _, output = site
    srv = WsgiServer("django_site.wsgi:application",
                     {"DJANGO_SITE_STATIC_ROOT": str(output), "DJANGO_SETTINGS_MODULE":
                      "django_site.settings"})
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def plain_whitenoise(site, tmp_path_factory):
    """Negative control: WhiteNoise at its defaults (no preset), over a copy of the
    output that still has an old release's `.assetpipe/` state folder in it."""
    _, output = site
    copy = tmp_path_factory.mktemp("plain") / "out"
    shutil.copytree(output, copy)
    (copy / ".assetpipe" / "history").mkdir(parents=True)
    (copy / ".assetpipe" / "history" / "entry.json").write_text("{}\n")
    srv = WsgiServer("django_site.wsgi:application",
                     {"DJANGO_SITE_STATIC_ROOT": str(copy), "DJANGO_SITE_PRESET": "0",
                      "DJANGO_SETTINGS_MODULE": "django_site.settings"})
    yield srv
    srv.stop()


def test_page_through_the_server_has_versioned_urls(site, server):
    assets = load_manifest(site[1])["assets"]
    page = server.get("/")
    assert page.status == 200
    assert f'src="/static/{assets["js/all.js"]["path"]}"' in page.body.decode()


@pytest.mark.parametrize("logical", ["js/app.js", "LICENSE"])
def test_versioned_name_is_cached_forever_a_plain_name_is_not(site, server, logical):
    path = load_manifest(site[1])["assets"][logical]["path"]
    versioned = server.get("/static/" + path)
    assert versioned.status == 200 and versioned.header("Cache-Control") == FOREVER
    plain = server.get("/static/" + logical)
    assert plain.status == 200 and plain.header("Cache-Control") == "max-age=300, public"
    assert plain.body == versioned.body


def test_without_the_preset_whitenoise_misses_names_and_lifetimes(site, plain_whitenoise):
    """Negative control.  WhiteNoise's own test strips one `.x` before the extension
    and asks the storage (ours) for the URL, so `app.v….js` passes by luck; a name
    without an extension (`LICENSE.v…`) does not, and plain names get its 60 s."""
    assets = load_manifest(site[1])["assets"]
    assert plain_whitenoise.get("/static/" + assets["js/app.js"]["path"]).header(
        "Cache-Control") == FOREVER
    control = plain_whitenoise.get("/static/" + assets["LICENSE"]["path"])
    assert control.status == 200 and control.header("Cache-Control") == "max-age=60, public"


@pytest.mark.parametrize("encoding, twin", [("br", ".br"), ("gzip", ".gz")])
def test_accept_encoding_gets_the_twin_with_vary(site, server, encoding, twin):
    _, output = site
    entry = load_manifest(output)["assets"]["css/site.css"]
    assert entry["encodings"][encoding] == entry["path"] + twin
    got = server.get("/static/" + entry["path"], Accept_Encoding=encoding)
    assert got.status == 200 and got.header("Content-Encoding") == encoding
    assert got.body == (output / (entry["path"] + twin)).read_bytes()
    assert "accept-encoding" in got.header("Vary").lower()
    assert got.header("Content-Type").startswith("text/css")
    assert got.header("Cache-Control") == FOREVER
    identity = server.get("/static/" + entry["path"])
    assert identity.header("Content-Encoding") == ""
    assert identity.body == (output / entry["path"]).read_bytes()
    assert "accept-encoding" in identity.header("Vary").lower()


def test_nothing_the_build_keeps_for_itself_answers_200(site, server, plain_whitenoise):
    cfg, output = site
    state = state_dir(cfg)
    kept = [p.relative_to(state).as_posix() for p in state.rglob("*") if p.is_file()]
    assert "state.json" in kept and "fingerprint" in kept
    assert any(k.startswith("history/") for k in kept)
    for rel in kept:
        for url in (f"/static/{rel}", f"/static/.assetpipe/{rel}",
                    f"/static/.assetpipe/{state.name}/{rel}"):
            assert server.get(url).status == 404, url
    # What used to be exposed: WhiteNoise serves a dot-named folder in its root.
    assert plain_whitenoise.get("/static/.assetpipe/history/entry.json").status == 200
    assert server.get("/static/manifest.json").status == 200      # published on purpose


def test_build_moves_an_old_state_folder_out_of_the_served_tree(tmp_path):
    cfg = build_site(tmp_path)
    legacy = tmp_path / "out" / ".assetpipe"
    shutil.move(state_dir(cfg), legacy)
    srv = WsgiServer("django_site.wsgi:application",
                     {"DJANGO_SITE_STATIC_ROOT": str(tmp_path / "out"),
                      "DJANGO_SETTINGS_MODULE": "django_site.settings"})
    try:
        assert srv.get("/static/.assetpipe/state.json").status == 200   # before: exposed
    finally:
        srv.stop()
    build_site(tmp_path)
    assert not legacy.exists()
    assert json.loads((state_dir(cfg) / "state.json").read_text())["assets"]
    srv = WsgiServer("django_site.wsgi:application",
                     {"DJANGO_SITE_STATIC_ROOT": str(tmp_path / "out"),
                      "DJANGO_SETTINGS_MODULE": "django_site.settings"})
    try:
        assert srv.get("/static/.assetpipe/state.json").status == 404
    finally:
        srv.stop()


def test_collectstatic_into_the_source_then_build_versions_app_files(site, tmp_path):
    """The documented replacement for collectstatic: gather every app's files into
    the source folder with a plain storage, then `assetpipe build`."""
    from django.core.management import call_command
    from django.template import Context, Template
    from django.test import override_settings
    source = tmp_path / "static-collected"
    plain = {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
             "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    # No manifest exists yet: the assetpipe check must not stop collectstatic.
    with override_settings(STATIC_ROOT=str(source), STORAGES=plain,
                           ASSETPIPE_MANIFEST=str(tmp_path / "out" / "manifest.json")):
        call_command("collectstatic", interactive=False, verbosity=0, skip_checks=False)
    assert (source / "vendor" / "widget.js").is_file()
    cfg = write_config(tmp_path, source="static-collected")
    build_dir(cfg)
    entry = load_manifest(tmp_path / "out")["assets"]["vendor/widget.js"]
    with override_settings(STATIC_ROOT=str(tmp_path / "out"),
                           ASSETPIPE_MANIFEST=str(tmp_path / "out" / "manifest.json")):
        html = Template('{% load static %}{% static "vendor/widget.js" %}').render(Context())
    assert html == "/static/" + entry["path"]


def test_importmap_and_modulepreload_tags_print_what_the_jinja_helpers_print(site, tmp_path):
    """`{% asset_importmap %}` / `{% asset_modulepreload %}`: the ES-module
    helpers, versioned with SRI, byte-identical to the Jinja ones."""
    from django.template import Context, Template
    from django.test import override_settings

    from assetpipe.jinja import install
    write_tree(tmp_path / "static", {
        "js/app.mjs": 'import { greet } from "./util.mjs";\nimport dep from "dep";\n'
                      'greet(dep);\n',
        "js/util.mjs": "export function greet(x) { return x; }\n",
        "js/dep.mjs": "export default 1;\n",
    })
    cfg = write_config(tmp_path, extra='[importmap]\n"dep" = "js/dep.mjs"\n')
    build_dir(cfg, workers=1)
    manifest_file = tmp_path / "out" / "manifest.json"
    assets = load_manifest(tmp_path / "out")["assets"]
    env = jinja2.Environment(autoescape=True)
    install(env, Manifest.load(manifest_file), dev=False)
    expected = env.from_string('{{ importmap_tag("js/app.mjs") }}\n'
                               '{{ modulepreload_tags("js/app.mjs") }}').render()
    with override_settings(ASSETPIPE_MANIFEST=str(manifest_file), ASSETPIPE_DEV=False):
        html = Template('{% load assetpipe %}{% asset_importmap "js/app.mjs" %}\n'
                        '{% asset_modulepreload "js/app.mjs" %}').render(Context())
    assert html == expected
    doc = json.loads(html.split("\n", 1)[1].split("</script>")[0])
    assert doc["imports"] == {"dep": "/static/" + assets["js/dep.mjs"]["path"]}
    for name in ("js/app.mjs", "js/util.mjs"):
        versioned = assets[name]["path"]
        assert (f'<link rel="modulepreload" href="/static/{versioned}" '
                f'integrity="{sri((tmp_path / "out" / versioned).read_bytes())}"') in html
