"""`assetpipe apache` against a real Debian Apache (no mocks).

Each server fixture builds the fixture site with assetpipe.build, writes the
rules with `main(["apache", ...])`, and starts its own apache2 on a free
loopback port with Debian's stock modules, mime.conf and deflate.conf.
"""
from __future__ import annotations

import http.server
import json
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from apache_httpd import Httpd, apache_missing_message, config_test, world_readable_tmpdir
from assetpipe.server_check import check_deployment, fetch
from assetpipe.build import build
from assetpipe.cli import main
from assetpipe.config import load_config
from assetpipe.media_types import content_type_header
from conftest import missing_tool

pytestmark = pytest.mark.integration

FIXTURE_SOURCE = Path(__file__).parent / "fixtures" / "apache-site" / "static"
YEAR = "max-age=31536000"
# One of each kind the rules treat differently.
FIXTURE_NAMES = ("css/site.css", "js/app.js", "img/icon.svg", "img/pixel.png",
                 "fonts/stub.woff2", "about.html", "LICENSE")


@pytest.fixture(scope="session", autouse=True)
def apache_available():
    """Integration tests must not silently skip in CI: fail unless told to skip."""
    problem = apache_missing_message()
    if problem:
        missing_tool(problem)


@dataclass
class Site:
    """A built output folder, served by one apache2 at `base` (ends with /)."""
    httpd: Httpd
    config_path: Path
    output: Path
    base: str

    @property
    def manifest(self) -> dict:
        return json.loads((self.output / "manifest.json").read_text())

    def get(self, path: str, method: str = "GET", **headers):
        return fetch(self.base + path, method, {k.replace("_", "-"): v for k, v in headers.items()})

    def file(self, path: str) -> bytes:
        return (self.output / path).read_bytes()


def write_config(workdir: Path, url_prefix: str, extra: str, source: Path) -> Path:
    config = workdir / "assetpipe.toml"
    config.write_text(f'source = "{source}"\noutput = "out"\nurl_prefix = "{url_prefix}"\n'
                      f'[images]\npng = "off"\n{extra}\n')
    return config


def serve(url_prefix: str, extra_config: str = "", server_conf: str = "", htaccess: bool = False,
          source: Path = FIXTURE_SOURCE) -> Site:
    """Build, write the rules with the CLI, start apache2 with them.

    `server_conf` may name `{out}` (the output folder); without `htaccess`
    the generated snippet is Included after it.
    """
    workdir = world_readable_tmpdir("assetpipe-apache-test-")
    config_path = write_config(workdir, url_prefix, extra_config, source)
    config = load_config(str(config_path))
    build(config, workers=1)
    output = Path(config.output)
    (output / ".well-known").mkdir()
    (output / ".well-known" / "security.txt").write_text("Contact: mailto:security@example.com\n")
    # The build keeps no state here any more; an older release did, and any
    # dot-named folder must stay hidden all the same.
    (output / ".assetpipe").mkdir()
    (output / ".assetpipe" / "state.json").write_text("{}\n")
    rules = output / ".htaccess" if htaccess else workdir / "assetpipe.conf"
    argv = ["apache", "--config", str(config_path), "-o", str(rules)]
    assert main(argv + ["--htaccess"] if htaccess else argv) == 0
    body = server_conf.format(out=output) + ("" if htaccess else f'\nInclude "{rules}"\n')
    httpd = Httpd(body, workdir)
    try:
        httpd.start()
    except Exception:
        httpd.cleanup()
        raise
    path = "/" if url_prefix == "/" else "/static/"
    return Site(httpd, config_path, output, httpd.base_url + path)


@pytest.fixture(scope="module")
def backend():
    """A tiny application server: answers every GET with the path it saw."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = f"backend saw {self.path}".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def _site(request, *args, **kwargs) -> Site:
    site = serve(*args, **kwargs)
    request.addfinalizer(site.httpd.cleanup)
    return site


@pytest.fixture(scope="module")
def alias_site(request):
    """Under an /static/ Alias, gzip twins as .gzip plus brotli twins."""
    return _site(request, "/static/", "[compress]\nbrotli = true\n")


@pytest.fixture(scope="module")
def root_site(request, backend):
    """DocumentRoot at /, nginx-style .gz twins (Debian types .gz as x-gzip), URL fallback."""
    return _site(request, "/", f'[compress]\nbrotli = true\ngzip_suffix = ".gz"\n'
                               f'[apache]\nfallback = "{backend}"\nshort_max_age = 0\n')


@pytest.fixture(scope="module")
def path_fallback_site(request, backend):
    """DocumentRoot at /, fallback to a path that the server proxies elsewhere (like mod_wsgi would)."""
    return _site(request, "/", '[apache]\nfallback = "/dynamic_handler/"\n',
                 f'ProxyPass "/dynamic_handler/" "{backend}app/"\n')


@pytest.fixture(scope="module")
def htaccess_site(request):
    """--htaccess under a CDN-origin prefix: the server only maps the path and allows overrides."""
    return _site(request, "https://cdn.example.com/static/", "[compress]\nbrotli = true\n",
                 'Alias "/static/" "{out}/"\n<Directory "{out}">\n    Require all granted\n'
                 '    AllowOverride All\n</Directory>\n', htaccess=True)


@pytest.fixture(params=["alias_site", "root_site", "htaccess_site"])
def site(request) -> Site:
    return request.getfixturevalue(request.param)


# --- every kind of file, in every layout ----------------------------------------

@pytest.mark.parametrize("logical", FIXTURE_NAMES)
def test_versioned_file_is_immutable_with_its_own_type(site, logical):
    entry = site.manifest["assets"][logical]
    got = site.get(entry["path"])
    assert got.status == 200
    assert got.body == site.file(entry["path"])
    assert got.header("Content-Encoding") == ""
    assert got.header("Cache-Control") == f"public, {YEAR}, immutable"
    assert got.header("Expires")
    assert got.header("Content-Language") == ""
    if logical != "LICENSE":  # no extension: the type table has nothing to say
        assert got.header("Content-Type") == content_type_header(logical)


@pytest.mark.parametrize("logical", FIXTURE_NAMES)
def test_twins_are_served_with_original_type_and_own_etag(site, logical):
    entry = site.manifest["assets"][logical]
    plain = site.get(entry["path"], Accept_Encoding="identity")
    for encoding, twin in entry.get("encodings", {}).items():
        got = site.get(entry["path"], Accept_Encoding=encoding)
        assert got.status == 200
        assert got.header("Content-Encoding") == encoding
        assert got.body == site.file(twin)
        assert got.header("Content-Type") == plain.header("Content-Type")
        assert got.header("Content-Language") == ""  # Debian: AddLanguage br .br
        assert "Accept-Encoding" in got.header("Vary")
        assert "Accept-Encoding" in plain.header("Vary")
        assert got.header("Cache-Control") == f"public, {YEAR}, immutable"
        assert got.header("ETag") and got.header("ETag") != plain.header("ETag")
        again = site.get(entry["path"], Accept_Encoding=encoding, If_None_Match=got.header("ETag"))
        assert again.status == 304
    again = site.get(entry["path"], If_None_Match=plain.header("ETag"))
    assert again.status == 304


def assert_served_charsets(site) -> None:
    """Issue 12 item 11: the fixture's css/legacy.css is ISO-8859-1 (with
    `@charset "iso-8859-1";`): every name (versioned, plain) and variant
    (identity, each twin) goes out as bare text/css, so the @charset decides;
    css/site.css, UTF-8, still says charset=utf-8 (the control).  Shared
    with test_servers (nginx, Caddy, Apache in their layouts)."""
    for logical, utf8 in (("css/legacy.css", False), ("css/site.css", True)):
        entry = site.manifest["assets"][logical]
        assert entry.get("not_utf8", False) is not utf8
        assert "gzip" in entry["encodings"]
        for path in (entry["path"], logical):
            for encoding in ("identity", *entry["encodings"]):
                got = site.get(path, Accept_Encoding=encoding)
                assert got.status == 200, path
                assert got.header("Content-Encoding") == ("" if encoding == "identity"
                                                          else encoding)
                assert got.header("Content-Type") == content_type_header(logical, utf8), (
                    path, encoding)
    assert site.get(site.manifest["assets"]["css/legacy.css"]["path"]).body == (
        FIXTURE_SOURCE / "css" / "legacy.css").read_bytes()


def test_text_that_is_not_utf8_is_never_announced_as_utf8(site):
    """The server snippet and the --htaccess variant (<If> in .htaccess)."""
    assert_served_charsets(site)


@pytest.mark.parametrize("logical", ["img/pixel.png", "fonts/stub.woff2", "LICENSE"])
def test_files_without_twins_are_not_compressed_on_the_fly(site, logical):
    path = site.manifest["assets"][logical]["path"]
    got = site.get(path, Accept_Encoding="gzip, br")
    assert got.header("Content-Encoding") == ""
    assert got.body == site.file(path)


@pytest.mark.parametrize("logical", FIXTURE_NAMES + ("manifest.json",))
def test_unversioned_names_get_the_short_policy(site, logical):
    got = site.get(logical, Accept_Encoding="gzip")
    assert got.status == 200
    assert "immutable" not in got.header("Cache-Control")
    assert YEAR not in got.header("Cache-Control")


def test_short_policy_values(alias_site, root_site):
    assert alias_site.get("manifest.json").header("Cache-Control") == "public, max-age=300"
    assert root_site.get("manifest.json").header("Cache-Control") == "no-cache"


# --- negotiation details ------------------------------------------------------------

@pytest.mark.parametrize("accept, expected", [
    ("gzip", "gzip"), ("GZip", "gzip"), ("deflate, gzip;q=0.5", "gzip"),
    ("gzip;q=0", ""), ("gzip; q=0.000", ""), ("x-gzip", ""), ("identity", ""), ("", ""),
    ("gzip, br", "br"), ("br;q=0, gzip", "gzip"), ("BR", "br"),
])
def test_accept_encoding_parsing(alias_site, accept, expected):
    path = alias_site.manifest["assets"]["js/app.js"]["path"]
    got = alias_site.get(path, Accept_Encoding=accept)
    assert got.status == 200
    assert got.header("Content-Encoding") == expected


def test_range_and_head_on_the_twin(site):
    entry = site.manifest["assets"]["css/site.css"]
    twin = site.file(entry["encodings"]["gzip"])
    ranged = site.get(entry["path"], Accept_Encoding="gzip", Range="bytes=10-19")
    assert ranged.status == 206
    assert ranged.body == twin[10:20]
    assert ranged.header("Content-Range") == f"bytes 10-19/{len(twin)}"
    head = site.get(entry["path"], "HEAD", Accept_Encoding="gzip")
    assert head.status == 200 and head.body == b""
    assert head.header("Content-Length") == str(len(twin))
    assert head.header("Content-Encoding") == "gzip"


# --- what must not be served --------------------------------------------------------

def test_missing_versioned_name_is_a_plain_404(site):
    got = site.get("css/site.v0000000000.css", Accept_Encoding="gzip, br")
    assert got.status == 404
    assert "immutable" not in got.header("Cache-Control")
    assert got.header("Expires") == ""


@pytest.mark.parametrize("path", [".assetpipe/state.json", ".assetpipe/", ".htaccess",
                                  "css/.hidden", ".assetpipe"])
def test_dotfiles_are_hidden(site, path):
    assert site.get(path).status in (403, 404)


def test_well_known_is_served(site):
    got = site.get(".well-known/security.txt")
    assert got.status == 200
    assert got.body.startswith(b"Contact:")


@pytest.mark.parametrize("name", ["alias_site", "htaccess_site"])
def test_no_directory_listings(request, name):
    got = request.getfixturevalue(name).get("css/")
    assert got.status == 403 and b"Index of" not in got.body


# --- fallback ---------------------------------------------------------------------

def test_url_fallback_proxies_missing_pages(root_site):
    got = root_site.get("account/settings?tab=2")
    assert (got.status, got.body) == (200, b"backend saw /account/settings?tab=2")


def test_fallback_gets_folders_without_index(root_site):
    assert root_site.get("css/").body == b"backend saw /css/"


def test_path_fallback_passes_missing_pages(path_fallback_site):
    got = path_fallback_site.get("account/settings?tab=2")
    assert (got.status, got.body) == (200, b"backend saw /app/account/settings?tab=2")


@pytest.mark.parametrize("name", ["root_site", "path_fallback_site"])
def test_fallback_leaves_files_and_versioned_names_alone(request, name):
    site = request.getfixturevalue(name)
    assert site.get("about.html").body == site.file("about.html")
    assert site.get("").body == site.file("index.html")
    assert site.get("js/app.v0000000000.js").status == 404


# --- the command line -------------------------------------------------------------

def test_generated_config_passes_apache_t(alias_site):
    # Fixture startup already ran `apache2 -t`; this keeps the check explicit.
    assert config_test(alias_site.httpd.conf).returncode == 0


def test_stdout_and_htaccess_variants(alias_site, capsys):
    assert main(["apache", "--config", str(alias_site.config_path)]) == 0
    server = capsys.readouterr().out
    assert f'Alias "/static/" "{alias_site.output}/"' in server and "<Directory" in server
    assert main(["apache", "--config", str(alias_site.config_path), "--htaccess"]) == 0
    per_dir = capsys.readouterr().out
    assert "<Directory" not in per_dir and "RewriteBase \"/static/\"" in per_dir


def test_module_list_names_proxy_only_for_a_url_fallback(alias_site, root_site, capsys):
    main(["apache", "--config", str(alias_site.config_path)])
    assert "# Needs (Debian): a2enmod rewrite headers expires\n" in capsys.readouterr().out
    main(["apache", "--config", str(root_site.config_path)])
    assert "a2enmod rewrite headers expires proxy proxy_http\n" in capsys.readouterr().out


def test_unknown_apache_key_is_rejected(tmp_path, capsys):
    config = write_config(tmp_path, "/static/", "[apache]\nshort_max_ag = 5\n", FIXTURE_SOURCE)
    assert main(["apache", "--config", str(config)]) == 2
    assert "apache.short_max_age" in capsys.readouterr().err


def test_check_passes_against_the_generated_rules(alias_site, capsys):
    assert main(["apache", "--config", str(alias_site.config_path), "--check", alias_site.base]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "FAIL" not in out


def test_check_fails_against_a_bare_alias(alias_site, capsys):
    bare = Httpd(f'Alias "/static/" "{alias_site.output}/"\n<Directory "{alias_site.output}">\n'
                 f'    Require all granted\n</Directory>\n')
    try:
        bare.start()
        assert main(["apache", "--config", str(alias_site.config_path),
                     "--check", bare.base_url + "/static/"]) == 1
    finally:
        bare.cleanup()
    captured = capsys.readouterr()
    assert "FAIL" in captured.out and "checks failed" in captured.err


def test_corpus_slice_passes_the_check(corpus_dir, request):
    """Real files: jquery + bootstrap css under the Alias, checked over HTTP."""
    source = world_readable_tmpdir("assetpipe-corpus-src-")
    request.addfinalizer(lambda: shutil.rmtree(source, ignore_errors=True))
    fonts = sorted(p.relative_to(corpus_dir).as_posix()
                   for p in (corpus_dir / "bootstrap/dist/fonts").iterdir())
    for rel in ("jquery/dist/jquery.js", "bootstrap/dist/css/bootstrap.css", "lodash/lodash.js",
                *fonts):
        target = source / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((corpus_dir / rel).read_bytes())
    site = _site(request, "/static/", "[compress]\nbrotli = true\n", source=source)
    results = check_deployment(site.base, str(site.output))
    assert [r.line() for r in results if not r.ok] == []
    for logical in ("jquery/dist/jquery.js", "bootstrap/dist/css/bootstrap.css"):
        entry = site.manifest["assets"][logical]
        got = site.get(entry["path"], Accept_Encoding="gzip")
        assert got.body == site.file(entry["encodings"]["gzip"])


def test_rules_work_under_a_parent_options_none(request):
    """mod_rewrite needs FollowSymLinks (or SymLinksIfOwnerMatch): under a parent
    `Options None` the rules must set it themselves, or every request is a 403."""
    parent = '<Directory />\n    Options None\n</Directory>\n'
    site = _site(request, "/static/", "", parent)
    entry = site.manifest["assets"]["css/site.css"]
    response = site.get(entry["path"], Accept_Encoding="gzip")
    assert response.status == 200 and response.headers.get("Content-Encoding") == "gzip"
    # Negative control: the same rules without the Options line's FollowSymLinks.
    rules = (site.httpd.workdir / "assetpipe.conf").read_text()
    assert "+FollowSymLinks" in rules
    stripped = site.httpd.workdir / "stripped.conf"
    stripped.write_text(rules.replace(" +FollowSymLinks", ""))
    bare = Httpd(parent + f'Include "{stripped}"\n')
    request.addfinalizer(bare.cleanup)
    bare.start()
    assert fetch(f"{bare.base_url}/static/{entry['path']}", "GET", {}).status == 403
