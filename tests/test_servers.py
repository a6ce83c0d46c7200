"""The generated rules on real Apache, nginx and Caddy: one check battery for all.

Each layout builds the fixture site (css, js, svg, png, woff2, html), writes
the rules with `main([server, ...])` and starts the real server once; every
test then runs against it.  Four layouts per server cover each value of
each factor and each pair of factors once: site at / or under a prefix,
`.gzip` or `.gz` twins, brotli on or off (and CORS on for the CDN-origin
prefix, off at /; a URL fallback in two of them).
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import test_apache
from apache_httpd import apache_missing_message, free_port, world_readable_tmpdir
from conftest import missing_tool
from web_servers import BROTLI_STATIC, CADDY, NGINX, Caddy, Nginx, missing_message, serve_rules

from assetpipe.build import build
from assetpipe.cli import main
from assetpipe.config import load_config
from assetpipe.policy import IMMUTABLE_CACHE_CONTROL
from assetpipe.server_check import fetch

pytestmark = pytest.mark.integration
backend = test_apache.backend  # the fixture: a tiny application server

FIXTURE_SOURCE = Path(__file__).parent / "fixtures" / "apache-site" / "static"
SERVERS = ("apache", "nginx", "caddy")
CDN = "https://cdn.example.com/static/"
# (id, url_prefix, [compress] table, fallback)
LAYOUTS = (
    ("root-gzip-br", "/", 'gzip_suffix = ".gzip"\nbrotli = true', True),
    ("prefix-gz-br", CDN, 'gzip_suffix = ".gz"\nbrotli = true', False),
    ("root-gz", "/", 'gzip_suffix = ".gz"\nbrotli = false', True),
    ("prefix-gzip", CDN, 'gzip_suffix = ".gzip"\nbrotli = false', True),
)


@pytest.fixture(scope="session", autouse=True)
def servers_available():
    for problem in (apache_missing_message(), missing_message(NGINX, "nginx"),
                    missing_message(BROTLI_STATIC, "libnginx-mod-http-brotli-static"),
                    missing_message(CADDY, "caddy")):
        if problem:
            missing_tool(problem)


@dataclass
class Deployment:
    kind: str
    config_path: Path
    output: Path
    base: str          # where the output folder is served, ends with /
    cors: bool
    fallback: bool

    @property
    def manifest(self) -> dict:
        return json.loads((self.output / "manifest.json").read_text())

    def get(self, path: str, **headers):
        return fetch(self.base + path, "GET", {k.replace("_", "-"): v for k, v in headers.items()})


def serve_built(kind: str, workdir: Path, config_text, rules_first: bool = False):
    """Write the config (`config_text(port)`), build, write `kind`'s rules with
    the CLI and start `kind` with them on that port: (Config, server).
    `rules_first` writes the rules before the build (stale rules: they know
    nothing the build found, such as text that is not UTF-8)."""
    port = free_port()
    config_path = workdir / "assetpipe.toml"
    config_path.write_text(config_text(port))
    config = load_config(str(config_path))
    rules = workdir / f"rules.{kind}"
    for step in ("rules", "build") if rules_first else ("build", "rules"):
        if step == "build":
            build(config, workers=1)
        else:
            assert main([kind, "--config", str(config_path), "-o", str(rules)]) == 0
    return config, serve_rules(kind, rules, workdir, port)


def deploy(kind: str, url_prefix: str, compress: str, extra: str = "",
           source: Path = FIXTURE_SOURCE, rules_first: bool = False):
    """Build, write the rules with the CLI, start `kind` with them: (Deployment, server)."""
    config, server = serve_built(kind, world_readable_tmpdir(f"assetpipe-{kind}-site-"), lambda port: (
        f'source = "{source}"\noutput = "out"\nurl_prefix = "{url_prefix}"\n'
        f'[images]\npng = "off"\n[compress]\n{compress}\n'
        f'[nginx]\nlisten = "127.0.0.1:{port}"\n{extra}\n'), rules_first)
    output = Path(config.output)
    # Dot-named things a deployment may hold (the state lives elsewhere now;
    # an old release kept it here), so hiding them is tested on real files.
    for rel, text in ((".well-known/security.txt", "Contact: mailto:security@example.com\n"),
                      (".assetpipe/state.json", "{}"), (".git/config", "[core]\n"),
                      ("css/.hidden", "secret\n")):
        (output / rel).parent.mkdir(exist_ok=True)
        (output / rel).write_text(text)
    base = server.base_url + config.url_path
    return Deployment(kind, Path(config.config_path), output, base, "//" in url_prefix,
                      bool(config.apache.fallback)), server


@pytest.fixture(scope="module", params=[(kind, *layout) for kind in SERVERS for layout in LAYOUTS],
                ids=[f"{kind}-{layout[0]}" for kind in SERVERS for layout in LAYOUTS])
def site(request, backend) -> Deployment:
    kind, _, url_prefix, compress, fallback = request.param
    extra = f'[apache]\nfallback = "{backend}"\n' if fallback else ""
    deployment, server = deploy(kind, url_prefix, compress, extra)
    request.addfinalizer(server.cleanup)
    return deployment


# --- the shared battery ------------------------------------------------------------

def test_check_battery_passes(site, capsys):
    assert main([site.kind, "--config", str(site.config_path), "--check", site.base]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out
    # every kind of file was checked, each encoding the build wrote
    for logical in ("css/site.css", "js/app.js", "img/icon.svg", "img/pixel.png",
                    "fonts/stub.woff2", "about.html", "css/legacy.css"):
        entry = site.manifest["assets"][logical]
        for encoding in ("identity", *entry.get("encodings", {})):
            assert f"PASS  {entry['path']} ({encoding}) body matches the file" in out
            assert f"PASS  {entry['path']} ({encoding}) Content-Type" in out
    assert "legacy.css Content-Type: 'text/css', expected 'text/css'" in out  # plain name
    assert "manifest.json short-cached" in out


def test_cors_headers_on_every_variant_of_versioned_names_and_fonts_only(site):
    css = site.manifest["assets"]["css/site.css"]
    for encoding in ("identity", *css["encodings"]):
        got = site.get(css["path"], Accept_Encoding=encoding)
        assert got.header("Content-Encoding") == ("" if encoding == "identity" else encoding)
        expected = "*" if site.cors else ""
        assert got.header("Access-Control-Allow-Origin") == expected
        assert got.header("Timing-Allow-Origin") == expected
    font = site.get("fonts/stub.woff2")  # the plain name of a font: fetched in CORS mode too
    assert font.header("Access-Control-Allow-Origin") == ("*" if site.cors else "")
    assert site.get("css/site.css").header("Access-Control-Allow-Origin") == ""


def test_twin_is_not_compressed_again(site):
    entry = site.manifest["assets"]["js/app.js"]
    got = site.get(entry["path"], Accept_Encoding="gzip, deflate")
    assert got.header("Content-Encoding") == "gzip"
    assert got.body == (site.output / entry["encodings"]["gzip"]).read_bytes()


def test_missing_versioned_name_is_a_plain_404(site):
    got = site.get("css/site.v0000000000.css", Accept_Encoding="gzip, br")
    assert got.status == 404
    assert got.header("Cache-Control") != IMMUTABLE_CACHE_CONTROL
    assert got.header("Access-Control-Allow-Origin") == ""


@pytest.mark.parametrize("path", [".assetpipe/", ".assetpipe", ".assetpipe/state.json",
                                  ".git/config", "css/.hidden", "%2egit/config", "img/"])
def test_state_dotfiles_and_listings_are_not_served(site, path):
    got = site.get(path)
    assert got.status in (403, 404) or (site.fallback and got.body.startswith(b"backend saw"))
    assert b"Index of" not in got.body and b"site.css" not in got.body
    assert b"[core]" not in got.body and b"secret" not in got.body


def test_well_known_and_index(site):
    assert site.get(".well-known/security.txt").body.startswith(b"Contact:")
    index = site.get("")
    assert index.status == 200
    assert index.body == (site.output / "index.html").read_bytes()


def test_fallback_proxies_missing_pages_only(site):
    got = site.get("account/settings?tab=2")
    if not site.fallback:
        assert got.status == 404
        return
    assert (got.status, got.body) == (200, b"backend saw /account/settings?tab=2")
    assert site.get("js/app.v0000000000.js").status == 404
    assert site.get("about.html").body == (site.output / "about.html").read_bytes()


def test_text_that_is_not_utf8_is_never_announced_as_utf8(site):
    test_apache.assert_served_charsets(site)


# --- negative controls: the battery fails without the rules -------------------------

@pytest.mark.parametrize("kind", SERVERS)
def test_rules_made_before_the_build_announce_latin1_as_utf8_and_check_says_so(kind, capsys):
    """The exception comes from what the build found: rules made before it
    send the Latin-1 stylesheet as charset=utf-8 (what every .css got before
    item 11), and the battery fails on exactly that."""
    deployment, server = deploy(kind, "/", 'gzip_suffix = ".gz"\nbrotli = true',
                                rules_first=True)
    try:
        legacy = deployment.manifest["assets"]["css/legacy.css"]
        assert deployment.get(legacy["path"]).header("Content-Type") == "text/css; charset=utf-8"
        assert main([kind, "--config", str(deployment.config_path),
                     "--check", deployment.base]) == 1
    finally:
        server.cleanup()
    failed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("FAIL")]
    assert failed and all("legacy" in line and "Content-Type" in line for line in failed), failed


@pytest.mark.parametrize("kind", ["nginx", "caddy"])
def test_battery_fails_against_a_bare_server(kind, capsys):
    """The same output served by the server's plain static handling fails the battery."""
    deployment, generated = deploy(kind, CDN, 'gzip_suffix = ".gz"\nbrotli = true')
    generated.stop()
    port = free_port()
    if kind == "nginx":
        bare = Nginx(f"server {{ listen 127.0.0.1:{port}; location /static/ "
                     f"{{ alias {deployment.output}/; }} }}", port=port)
    else:
        bare = Caddy(f"handle_path /static/* {{\n root * {deployment.output}\n file_server\n}}",
                     port=port)
    try:
        bare.start()
        assert main([kind, "--config", str(deployment.config_path),
                     "--check", bare.base_url + "/static/"]) == 1
    finally:
        bare.cleanup()
        generated.cleanup()
    captured = capsys.readouterr()
    assert "FAIL" in captured.out and "checks failed" in captured.err


def test_nginx_path_fallback_goes_to_a_location_of_the_include(request, backend):
    """As on Apache: "/dynamic_handler/" is the app's own location in the same server."""
    app = world_readable_tmpdir("assetpipe-nginx-app-")
    request.addfinalizer(lambda: shutil.rmtree(app, ignore_errors=True))
    (app / "app.conf").write_text(f"location /dynamic_handler/ {{ proxy_pass {backend}app/; }}\n")
    site, server = deploy("nginx", "/", 'gzip_suffix = ".gz"',
                          f'include = "{app / "app.conf"}"\n'
                          f'[apache]\nfallback = "/dynamic_handler/"\n')
    request.addfinalizer(server.cleanup)
    got = site.get("account/settings?tab=2")
    assert (got.status, got.body) == (200, b"backend saw /app/account/settings?tab=2")
    assert site.get("js/app.v0000000000.js").status == 404
    assert site.get("about.html").body == (site.output / "about.html").read_bytes()


def test_path_fallback_is_refused_for_nginx_and_caddy(tmp_path, capsys):
    config = tmp_path / "assetpipe.toml"
    config.write_text(f'source = "{FIXTURE_SOURCE}"\noutput = "out"\n'
                      '[apache]\nfallback = "/dynamic_handler/"\n')
    for kind in ("nginx", "caddy"):
        assert main([kind, "--config", str(config)]) == 2
        assert "apache.fallback" in capsys.readouterr().err


def test_battery_passes_on_the_apache_htaccess_variant(request, capsys):
    """--htaccess under a CDN prefix: CORS and twins from the per-directory file."""
    site = test_apache.serve(CDN, '[compress]\nbrotli = true\n',
                             'Alias "/static/" "{out}/"\n<Directory "{out}">\n'
                             '    Require all granted\n    AllowOverride All\n</Directory>\n',
                             htaccess=True)
    request.addfinalizer(site.httpd.cleanup)
    assert main(["apache", "--config", str(site.config_path), "--check", site.base]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out and "Access-Control-Allow-Origin: '*'" in out
