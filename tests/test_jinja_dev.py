"""Jinja helpers in development mode: one tag per bundle member, each at its
own versioned URL; in production one tag per bundle."""
from __future__ import annotations

import re

import jinja2
import pytest

from assetpipe.build import build
from assetpipe.config import load_config
from assetpipe.jinja import install
from assetpipe.manifest import Manifest

CONFIG = """\
source = "static"
output = "out"

[[bundle]]
name = "js/all.js"
files = ["js/a.js", "js/b.js"]

[[bundle]]
name = "css/all.css"
files = ["css/x.css", "css/y.css"]

[images]
png = "off"
"""
TEMPLATE = '{{ script_tag("js/all.js", defer=True) }}\n{{ stylesheet_tag("css/all.css") }}'


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    (site / "assetpipe.toml").write_text(CONFIG)
    for name, text in {"js/a.js": "var a;", "js/b.js": "var b;",
                       "css/x.css": "a{color:red}", "css/y.css": "b{color:blue}"}.items():
        path = site / "static" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    build(load_config(str(site / "assetpipe.toml")), workers=1)
    return Manifest.load(site / "out" / "manifest.json")


def render(manifest, dev) -> str:
    env = jinja2.Environment(autoescape=True)
    install(env, manifest, dev=dev)
    return env.from_string(TEMPLATE).render()


def test_production_emits_one_tag_per_bundle(manifest):
    html = render(manifest, dev=False)
    assert re.findall(r'src="([^"]+)"', html) == [manifest.url("js/all.js")]
    assert re.findall(r'href="([^"]+)"', html) == [manifest.url("css/all.css")]


def test_dev_emits_one_tag_per_member_at_its_own_versioned_url(manifest):
    html = render(manifest, dev=True)
    assert re.findall(r'src="([^"]+)"', html) == [manifest.url("js/a.js"), manifest.url("js/b.js")]
    assert re.findall(r'href="([^"]+)"', html) == [manifest.url("css/x.css"),
                                                   manifest.url("css/y.css")]
    assert html.count(f'integrity="{manifest.integrity("js/a.js")}"') == 1
    assert html.count(" defer") == 2


def test_assetpipe_dev_environment_variable_turns_dev_mode_on(manifest, monkeypatch):
    monkeypatch.setenv("ASSETPIPE_DEV", "1")
    assert render(manifest, dev=None) == render(manifest, dev=True)
    monkeypatch.delenv("ASSETPIPE_DEV")
    assert render(manifest, dev=None) == render(manifest, dev=False)
