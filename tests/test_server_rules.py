"""The shared serving policy and the one context every server's rules render from."""
from __future__ import annotations

import re

import pytest
from conftest import write_tree

from assetpipe import apache_rules
from assetpipe.build import build
from assetpipe.cli import main
from assetpipe.config import load_config
from assetpipe.policy import (
    IMMUTABLE_CACHE_CONTROL,
    cors_origin,
    names_re,
    short_cache_control,
    wants_cors,
)
from assetpipe.server_rules import SERVERS, render, template_context


@pytest.mark.parametrize("setting, url_prefix, expected", [
    ("auto", "/static/", ""),
    ("auto", "https://cdn.example.com/static/", "*"),
    ("auto", "//cdn.example.com/static/", "*"),
    ("off", "https://cdn.example.com/static/", ""),
    ("*", "/static/", "*"),
    ("https://www.example.com", "https://cdn.example.com/", "https://www.example.com"),
])
def test_cors_origin(setting, url_prefix, expected):
    assert cors_origin(setting, url_prefix) == expected


@pytest.mark.parametrize("path, expected", [
    ("css/site.v0123456789.css", True), ("css/site.v0123456789.css.gzip", True),
    ("LICENSE.v0123456789", True), ("fonts/a.woff2", True), ("fonts/a.ttf.gz", True),
    ("fonts/a.v0123456789.woff2.br", True), ("css/site.css", False), ("index.html", False),
    ("css/site.v0123456789.css.bak", False),
])
def test_cors_names(path, expected):
    assert wants_cors(path) is expected


def test_zero_short_max_age_means_revalidate():
    assert short_cache_control(0) == "no-cache"
    assert short_cache_control(300) == "public, max-age=300"


def config_file(tmp_path, text: str):
    path = tmp_path / "assetpipe.toml"
    path.write_text('source = "static"\noutput = "out"\n' + text)
    (tmp_path / "static").mkdir(exist_ok=True)
    return path


@pytest.mark.parametrize("value", ["yes", "https://www.example.com/", "https://a.com, https://b.com",
                                   "www.example.com"])
def test_bad_cors_setting_is_a_config_error(tmp_path, capsys, value):
    path = config_file(tmp_path, f'[serve]\ncors = "{value}"\n')
    assert main(["nginx", "--config", str(path)]) == 2
    assert "serve.cors" in capsys.readouterr().err


def rendered(tmp_path, text: str) -> dict[str, str]:
    config = load_config(str(config_file(tmp_path, text)))
    rules = {server: render(config, server) for server in SERVERS if server != "apache"}
    return {"apache": apache_rules.render(config), **rules}


def test_every_server_renders_the_same_policy(tmp_path):
    text = 'url_prefix = "https://cdn.example.com/static/"\n[compress]\nbrotli = true\n'
    context = template_context(load_config(str(config_file(tmp_path, text))))
    for server, rules in rendered(tmp_path, text).items():
        assert IMMUTABLE_CACHE_CONTROL in rules, server
        assert context["versioned_re"] in rules, server
        assert context["cors_re"] in rules and '"*"' in rules, server
        for twin in context["twins"]:
            assert twin["accepts_re"] in rules and twin["refuses_re"] in rules, server


def test_same_origin_rules_send_no_cors(tmp_path):
    for server, rules in rendered(tmp_path, 'url_prefix = "/static/"\n').items():
        assert "Access-Control-Allow-Origin" not in rules, server


def test_nginx_names_the_module_it_needs(tmp_path):
    static = render(load_config(str(config_file(
        tmp_path, '[compress]\ngzip_suffix = ".gz"\nbrotli = true\n'))), "nginx")
    assert "libnginx-mod-http-brotli-static" in static and "brotli_static on;" in static
    assert "gzip_static on;" in static and "$assetpipe_gzip_twin" not in static
    mapped = render(load_config(str(config_file(tmp_path, '[compress]\nbrotli = true\n'))),
                    "nginx")
    assert "Needs no extra module" in mapped and "brotli_static" not in mapped
    assert "try_files $uri$assetpipe_br_twin $uri$assetpipe_gzip_twin $uri" in mapped


def test_nginx_values_cannot_break_out_of_their_directive(tmp_path, capsys):
    path = config_file(tmp_path, '[nginx]\nserver_name = "a; include /etc/passwd"\n')
    assert main(["nginx", "--config", str(path)]) == 2
    assert "nginx.server_name" in capsys.readouterr().err


def test_nginx_include_is_relative_to_the_config_file(tmp_path):
    path = config_file(tmp_path, '[nginx]\ninclude = "app.conf"\n'
                                 '[apache]\nfallback = "/dynamic_handler/"\n')
    rules = render(load_config(str(path)), "nginx")
    assert f"include {tmp_path / 'app.conf'};" in rules
    assert 'rewrite "^/static/(.*)$" "/dynamic_handler/$1" last;' in rules


@pytest.mark.parametrize("logical, names, others", [
    ("css/legacy.css", ["css/legacy.css", "css/legacy.v0123456789.css",
                        "css/legacy.v0123456789abcdef0123456789abcdef.css.gzip",
                        "css/legacy.css.br", "css/legacy.v0123456789.css.gz"],
     ["css/legacy.v0123.css", "css/legacyXcss", "xcss/legacy.css", "css/legacy.css.bak",
      "css/legacy.v0123456789.js"]),
    ("LICENSE", ["LICENSE", "LICENSE.v0123456789", "LICENSE.v0123456789.gz"], ["LICENSEX"]),
    ('a b#"{x}\\.txt', ['a b#"{x}\\.txt', 'a b#"{x}\\.v0123456789.txt'], ["a b#'{x}\\.txt"]),
])
def test_names_re_covers_every_name_of_one_asset_only(logical, names, others):
    regex = names_re(logical)
    assert not set('"#{ ') & set(regex.replace("{8,32}", "")), regex   # config-quoting safe
    assert all(re.fullmatch(regex, name) for name in names)
    assert not any(re.fullmatch(regex, name) for name in others)


def test_rules_single_out_the_text_the_build_found_not_utf8(tmp_path):
    """Before the build the rules say they know of none; after it, every
    server's rules carry the manifest's not_utf8 names, grouped by bare type,
    and nothing else."""
    text = 'url_prefix = "https://cdn.example.com/static/"\n[compress]\nbrotli = true\n'
    config = load_config(str(config_file(tmp_path, text)))
    write_tree(tmp_path / "static", {"css/a.css": b"a{content:'\xe9'}", "css/b.css": b"\xe9{}",
                                     "img/c.svg": b"<svg>\xe9</svg>", "css/ok.css": "é{}"})
    before = template_context(config)
    assert before["charset_exceptions"] == [] and "No manifest.json" in before["charset_note"][0]
    build(config, workers=1)
    exceptions = template_context(config)["charset_exceptions"]
    assert [(e["type"], e["names"]) for e in exceptions] == [
        ("image/svg+xml", ["img/c.svg"]), ("text/css", ["css/a.css", "css/b.css"])]
    css = exceptions[1]
    assert re.fullmatch(css["path_re"], "/static/css/b.v0123456789.css.br")
    assert re.fullmatch(css["stripped_re"], "/css/a.css")
    assert re.fullmatch(css["file_re"], f"{tmp_path}/out/css/a.v0123456789.css.gzip")
    assert not re.fullmatch(css["path_re"], "/static/css/ok.css")
    for server, rules in rendered(tmp_path, text).items():
        assert rules.count(css["file_re" if server == "apache" else
                                "path_re" if server == "nginx" else "stripped_re"]) == 1, server
        assert "# css/a.css, css/b.css\n" in rules, server
