"""assetpipe.jinja: asset_url and tags with SRI, escaping, dev mode."""
from __future__ import annotations

import jinja2
import pytest

from assetpipe import Manifest
from assetpipe.jinja import install
from conftest import build_dir, write_config, write_tree


@pytest.fixture
def manifest(tmp_path):
    write_tree(tmp_path / "static", {"js/a.js": "var a = 1;\n", "js/b.js": "var b = 2;\n",
                                     "css/site.css": "body { color: red; }\n"})
    build_dir(write_config(tmp_path, extra='[[bundle]]\nname = "js/all.js"\nfiles = ["js/a.js", "js/b.js"]\n'))
    return Manifest.load(tmp_path / "out" / "manifest.json")


def render(manifest, source: str, dev: bool = False) -> str:
    env = jinja2.Environment(autoescape=True)
    install(env, manifest, dev=dev)
    return env.from_string(source).render()


def test_asset_url(manifest):
    assert render(manifest, '{{ asset_url("css/site.css") }}') == "/static/" + manifest.path_of("css/site.css")


def test_script_tag_with_integrity_and_crossorigin(manifest):
    html = render(manifest, '{{ script_tag("js/all.js", defer=True) }}')
    assert html == (f'<script src="/static/{manifest.path_of("js/all.js")}" '
                    f'integrity="{manifest.integrity("js/all.js")}" crossorigin="anonymous" defer></script>')


def test_stylesheet_tag_escapes_attributes(manifest):
    html = render(manifest, '{{ stylesheet_tag("css/site.css", media="x\\" onload=\\"alert(1)", data_x="<&>") }}')
    assert html == (f'<link rel="stylesheet" href="/static/{manifest.path_of("css/site.css")}" '
                    f'integrity="{manifest.integrity("css/site.css")}" crossorigin="anonymous" '
                    'media="x&#34; onload=&#34;alert(1)" data-x="&lt;&amp;&gt;">')


def test_dev_mode_one_tag_per_bundle_member(manifest):
    html = render(manifest, '{{ script_tag("js/all.js") }}', dev=True)
    lines = html.split("\n")
    assert len(lines) == 2
    for line, member in zip(lines, ["js/a.js", "js/b.js"]):
        assert line == (f'<script src="/static/{manifest.path_of(member)}" '
                        f'integrity="{manifest.integrity(member)}" crossorigin="anonymous"></script>')


def test_unknown_asset_in_template_names_it(manifest):
    with pytest.raises(KeyError, match="js/nope.js"):
        render(manifest, '{{ script_tag("js/nope.js") }}')
