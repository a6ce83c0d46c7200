"""url()/@import/sourceMappingURL rewriting through the whole build.

The public corpus built once per session (every local reference in every
built stylesheet names an existing versioned file), a bundle moved to another
folder rendered in headless Chromium pixel-for-pixel like the original
sources, and one small fixture site per edge case, run through
`build.build(config)` or `cli.main(["build", ...])`.
"""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from assetpipe import policy
from assetpipe.build import build
from assetpipe.cli import main
from assetpipe.config import load_config
from assetpipe.references import is_local, scan_css, scan_js, split_url
from conftest import PNG_OFF, missing_tool

VERSION = r"\.v[0-9a-f]{10}"


# --- helpers ------------------------------------------------------------------------

def png(color: tuple[int, int, int], size=(4, 4)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def write_site(root: Path, files: dict, top: str = "", tables: str = "") -> Path:
    """A source folder `static/` holding `files`; returns the config path
    (output `out/`, PNG stage off)."""
    for name, content in files.items():
        path = root / "static" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    config = root / "assetpipe.toml"
    config.write_text('source = "static"\noutput = "out"\n' + top + PNG_OFF + tables)
    return config


def run_build(config: Path):
    return build(load_config(str(config)), workers=1)


def run_cli(config: Path, capsys) -> tuple[int, str, str]:
    code = main(["build", "--config", str(config), "--quiet"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def manifest(out: Path) -> dict[str, str]:
    """logical path -> versioned path."""
    assets = json.loads((out / "manifest.json").read_text())["assets"]
    return {logical: entry["path"] for logical, entry in assets.items()}


def built_text(out: Path, logical: str) -> str:
    return (out / manifest(out)[logical]).read_text(encoding="utf-8")


def refs_in(out: Path, logical: str):
    text = built_text(out, logical)
    return scan_js(text) if logical.endswith(".js") else scan_css(text)


def target(out: Path, versioned_path: str, url: str) -> Path:
    """The output file a relative URL in `versioned_path` names."""
    path, _ = split_url(url)
    return Path(os.path.normpath((out / versioned_path).parent / path))


def assert_points_at_versioned(out: Path, logical: str, expected_logicals: list[str]):
    """Every local reference in the built `logical` names an existing versioned
    file, and together they are exactly `expected_logicals`' versioned files."""
    names = manifest(out)
    seen = []
    for ref in refs_in(out, logical):
        if not is_local(ref.url):
            continue
        file = target(out, names[logical], ref.url)
        assert file.is_file(), f"{logical}:{ref.line}: {ref.url} -> {file} missing"
        assert policy.is_versioned(file.name), f"{logical}: {ref.url} is not versioned"
        seen.append(file.relative_to(out).as_posix())
    assert seen == [names[lg] for lg in expected_logicals]


# --- the public corpus --------------------------------------------------------------

CORPUS_BUNDLE = [
    "jquery-ui/themes/base/*.css",          # all.css and base.css @import the others
    "bootstrap/dist/css/bootstrap.css",
    "font-awesome/css/font-awesome.css",
    "leaflet/dist/leaflet.css",
]


@pytest.fixture(scope="session")
def corpus_build(corpus_dir, tmp_path_factory) -> Path:
    """The whole corpus built once (PNG stage off) with a CSS bundle at
    `bundles/all.css`, away from its members' folders; returns the output folder."""
    root = tmp_path_factory.mktemp("corpus_build")
    files = ", ".join(json.dumps(f) for f in CORPUS_BUNDLE)
    (root / "assetpipe.toml").write_text(
        f'source = {json.dumps(str(corpus_dir))}\noutput = "out"\n{PNG_OFF}\n'
        f'[[bundle]]\nname = "bundles/all.css"\nfiles = [{files}]\n')
    report = build(load_config(str(root / "assetpipe.toml")))
    # jquery-ui's all.css/base.css @import files that the glob also bundles:
    # the buried @imports are reported, and nothing else is.
    buried = [w for w in report.warnings if "ends up inside bundle 'bundles/all.css'" in w]
    assert {w.split(":")[0] for w in buried} == {"jquery-ui/themes/base/all.css",
                                                 "jquery-ui/themes/base/base.css"}
    assert [w for w in report.warnings if w not in buried] == []
    return root / "out"


def test_corpus_every_css_reference_names_a_versioned_output(corpus_build):
    out = corpus_build
    checked = 0
    for logical, versioned in manifest(out).items():
        if not logical.endswith(".css"):
            continue
        for path in (versioned, logical):  # the unversioned copy sits in the same folder
            for ref in scan_css((out / path).read_text(encoding="utf-8")):
                if not is_local(ref.url):
                    continue
                file = target(out, path, ref.url)
                assert file.is_file(), f"{path}:{ref.line}: {ref.url} names no output file"
                assert policy.is_versioned(file.name), f"{path}:{ref.line}: {ref.url} unversioned"
                checked += 1
    assert checked > 500  # jquery-ui themes alone hold hundreds


def url_re(path: str) -> str:
    """A url() token naming `path` (a regex), quoted or not: the output is minified."""
    return rf"url\(([\"']?){path}\1\)"


def test_corpus_jquery_ui_theme(corpus_build):
    out = corpus_build
    theme = built_text(out, "jquery-ui/themes/base/theme.css")
    assert re.search(url_re(rf"images/ui-icons_444444_256x240{VERSION}\.png"), theme)
    assert "ui-icons_444444_256x240.png" not in theme
    imports = [r.url for r in refs_in(out, "jquery-ui/themes/base/all.css") if r.kind == "import"]
    assert [re.sub(VERSION, "", u) for u in imports] == ["base.css", "theme.css"]
    base = [r for r in refs_in(out, "jquery-ui/themes/base/base.css") if r.kind == "import"]
    assert len(base) == 19 and all(re.search(VERSION, r.url) for r in base)
    # a dist theme: every image it names is versioned
    source = Path(load_config(str(out.parent / "assetpipe.toml")).source)
    theme_css = "jquery-ui/dist/themes/ui-lightness/theme.css"
    images = [f"jquery-ui/dist/themes/ui-lightness/{r.url}" for r in
              scan_css((source / theme_css).read_text(encoding="utf-8")) if is_local(r.url)]
    assert len(images) > 10
    assert_points_at_versioned(out, theme_css, images)


def test_corpus_bootstrap_glyphicons_iefix(corpus_build):
    css = built_text(corpus_build, "bootstrap/dist/css/bootstrap.css")
    fonts = "\\.\\./fonts/glyphicons-halflings-regular"
    assert re.search(url_re(rf"{fonts}{VERSION}\.eot\?#iefix") + r" ?format\([\"']embedded-opentype", css)
    for ext in ("eot", "woff2", "woff", "ttf"):
        assert re.search(url_re(rf"{fonts}{VERSION}\.{ext}"), css), ext
    assert re.search(url_re(rf"{fonts}{VERSION}\.svg#glyphicons_halflingsregular"), css)
    # the preminified copy keeps its sourceMappingURL, pointed at the versioned map
    minified = built_text(corpus_build, "bootstrap/dist/css/bootstrap.min.css")
    [sm] = [r for r in scan_css(minified) if r.kind == "sourcemap"]
    assert re.fullmatch(rf"bootstrap\.min\.css{VERSION}\.map", sm.url), sm.url
    assert (corpus_build / "bootstrap/dist/css" / sm.url).is_file()


def test_corpus_font_awesome_query_and_fragment_kept(corpus_build):
    css = built_text(corpus_build, "font-awesome/css/font-awesome.css")
    font = "\\.\\./fonts/fontawesome-webfont"
    for suffix in (r"\.eot\?v=4\.7\.0", r"\.eot\?#iefix&v=4\.7\.0", r"\.woff2\?v=4\.7\.0",
                   r"\.woff\?v=4\.7\.0", r"\.ttf\?v=4\.7\.0", r"\.svg\?v=4\.7\.0#fontawesomeregular"):
        assert re.search(url_re(f"{font}{VERSION}{suffix}"), css), suffix


def test_corpus_leaflet_images_and_vml_behavior(corpus_build):
    css = built_text(corpus_build, "leaflet/dist/leaflet.css")
    assert re.search(r"behavior: ?url\(#default#VML\)", css)
    for image in ("layers", "layers-2x", "marker-icon"):
        assert re.search(url_re(rf"images/{image}{VERSION}\.png"), css), image


def test_corpus_bundle_rebased_to_its_own_folder(corpus_build):
    css = built_text(corpus_build, "bundles/all.css")
    up = "\\.\\./"
    assert re.search(url_re(rf"{up}jquery-ui/themes/base/images/ui-icons_444444_256x240{VERSION}\.png"), css)
    assert re.search(url_re(rf"{up}leaflet/dist/images/marker-icon{VERSION}\.png"), css)
    assert re.search(url_re(rf"{up}font-awesome/fonts/fontawesome-webfont{VERSION}\.eot\?#iefix&v=4\.7\.0"), css)
    assert re.search(url_re(rf"{up}bootstrap/dist/fonts/glyphicons-halflings-regular{VERSION}\.woff2"), css)
    assert "url(#default#VML)" in css


# --- the bundle renders like its sources, in Chromium --------------------------------

CHROMIUM = os.environ.get("ASSETPIPE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                 "--window-size=1000,1400", "--virtual-time-budget=5000"]

# Icons from fonts (glyphicons, Font Awesome) and from images (jquery-ui
# sprites, Leaflet): a missing or misplaced file changes pixels.  Nothing
# animated (.ui-progressbar-overlay is an animated GIF): frames depend on timing.
PAGE_BODY = """
<div style="padding:10px">
<p class="lead">Glyphicons: <span class="glyphicon glyphicon-star"></span>
<span class="glyphicon glyphicon-heart"></span> <span class="glyphicon glyphicon-search"></span>
<span class="glyphicon glyphicon-envelope"></span> <span class="glyphicon glyphicon-cog"></span></p>
<p>Font Awesome: <i class="fa fa-camera-retro fa-2x"></i> <i class="fa fa-github fa-3x"></i>
<i class="fa fa-spinner fa-2x"></i> <i class="fa fa-shield fa-rotate-90 fa-2x"></i>
<i class="fa fa-car fa-2x"></i></p>
<button class="btn btn-primary"><span class="glyphicon glyphicon-ok"></span> OK</button>
<div class="ui-widget" style="margin:10px 0">
 <div class="ui-widget-header ui-corner-all" style="padding:4px">Header
  <span class="ui-icon ui-icon-circle-close"></span></div>
 <div class="ui-widget-content ui-corner-all" style="padding:4px">
  <span class="ui-icon ui-icon-triangle-1-e"></span><span class="ui-icon ui-icon-gear"></span>
  <span class="ui-icon ui-icon-trash"></span><span class="ui-icon ui-icon-calendar"></span>
  <div class="ui-state-highlight ui-corner-all"><span class="ui-icon ui-icon-info"></span> highlight</div>
  <div class="ui-state-error ui-corner-all"><span class="ui-icon ui-icon-alert"></span> error</div>
  <div class="ui-state-active"><span class="ui-icon ui-icon-check"></span> active</div>
  <div class="ui-state-hover"><span class="ui-icon ui-icon-arrowthick-1-n"></span> hover</div>
 </div>
 <div class="ui-accordion ui-widget"><h3 class="ui-accordion-header ui-state-default ui-corner-all">
  <span class="ui-accordion-header-icon ui-icon ui-icon-triangle-1-s"></span>Section</h3></div>
 <div class="ui-progressbar ui-widget ui-widget-content ui-corner-all" style="height:20px">
  <div class="ui-progressbar-value ui-widget-header" style="width:40%"></div></div>
</div>
<div class="leaflet-container" style="height:120px;width:300px;position:relative">
 <div class="leaflet-control-layers leaflet-control"><a class="leaflet-control-layers-toggle" href="#"></a></div>
 <div class="leaflet-default-icon-path" style="width:25px;height:41px;position:absolute;left:200px;top:20px"></div>
</div>
</div>
"""

# What a site linking the sources would write: all.css @imports the theme.
ORIGINAL_LINKS = ["src/jquery-ui/themes/base/all.css", "src/bootstrap/dist/css/bootstrap.css",
                  "src/font-awesome/css/font-awesome.css", "src/leaflet/dist/leaflet.css"]
SERVED_SOURCES = ["jquery-ui/themes/base", "bootstrap/dist", "font-awesome/css",
                  "font-awesome/fonts", "leaflet/dist"]


def page(links: list[str]) -> str:
    heads = "".join(f'<link rel="stylesheet" href="{href}">' for href in links)
    return f"<!doctype html><html><head><meta charset='utf-8'>{heads}</head><body>{PAGE_BODY}</body></html>"


@pytest.fixture(scope="module")
def chromium() -> str:
    if shutil.which(CHROMIUM) is None:
        missing_tool(f"Chromium not found at {CHROMIUM}: install it (apt-get install chromium) "
                     "or set ASSETPIPE_CHROMIUM; ASSETPIPE_ALLOW_SKIP=1 skips instead")
    return CHROMIUM


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served(corpus_build, corpus_dir):
    """An http.server on 127.0.0.1 serving a folder with `src/` (a copy of the
    corpus packages the page uses) and `out/` (the build output)."""
    root = corpus_build.parent
    for folder in SERVED_SOURCES:
        shutil.copytree(corpus_dir / folder, root / "src" / folder, dirs_exist_ok=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def screenshot(chromium: str, root: Path, base_url: str, name: str, links: list[str]) -> Image.Image:
    (root / f"{name}.html").write_text(page(links), encoding="utf-8")
    shot = root / f"{name}.png"
    command = [chromium, *CHROMIUM_ARGS, f"--user-data-dir={root / ('profile-' + name)}",
               f"--screenshot={shot}", f"{base_url}/{name}.html"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert shot.is_file(), f"no screenshot from {' '.join(command)}:\n{result.stderr[-2000:]}"
    return Image.open(shot).convert("RGB")


@pytest.mark.integration
def test_relocated_bundle_renders_like_the_sources(chromium, served, corpus_build):
    root, base_url = served
    bundle = manifest(corpus_build)["bundles/all.css"]
    original = screenshot(chromium, root, base_url, "original", ORIGINAL_LINKS)
    bundled = screenshot(chromium, root, base_url, "bundled", ["out/" + bundle])
    assert ImageChops.difference(original, bundled).getbbox() is None, \
        f"{bundle} renders differently from the source stylesheets (see {root})"

    # The comparison can fail: without the CSS, or with the bundle's bytes
    # served from a folder where its relative URLs name nothing (fonts and
    # sprites missing), the page looks different.
    bare = screenshot(chromium, root, base_url, "bare", [])
    assert ImageChops.difference(original, bare).getbbox() is not None
    shutil.copy(corpus_build / bundle, root / "moved.css")
    moved = screenshot(chromium, root, base_url, "moved", ["moved.css"])
    assert ImageChops.difference(original, moved).getbbox() is not None


# --- versions follow references -------------------------------------------------------

SITE = {
    "css/a.css": "h1 { color: red }\n.logo { background: url(../img/logo.png) no-repeat }\n",
    "css/b.css": "p { color: blue }\n",
    "img/logo.png": png((255, 0, 0)),
    "img/other.png": png((0, 255, 0)),
    "js/app.js": "console.log('hi');\n",
}
SITE_BUNDLE = '[[bundle]]\nname = "bundles/site.css"\nfiles = ["css/a.css", "css/b.css"]\n'


@pytest.mark.parametrize("strategy", ["hash", "mtime"])
def test_changing_an_image_changes_exactly_its_users(tmp_path, strategy):
    config = write_site(tmp_path, SITE, tables=f'[versioning]\nstrategy = "{strategy}"\n' + SITE_BUNDLE)
    out = tmp_path / "out"
    run_build(config)
    before = manifest(out)
    assert_points_at_versioned(out, "css/a.css", ["img/logo.png"])
    assert_points_at_versioned(out, "bundles/site.css", ["img/logo.png"])
    assert re.search(rf"url\(\.\./img/logo{VERSION}\.png\)", built_text(out, "bundles/site.css"))

    (tmp_path / "static/img/logo.png").write_bytes(png((0, 0, 255)))
    run_build(config)
    after = manifest(out)
    changed = {logical for logical in before if before[logical] != after[logical]}
    assert changed == {"img/logo.png", "css/a.css", "bundles/site.css"}
    assert after.keys() == before.keys()
    assert_points_at_versioned(out, "css/a.css", ["img/logo.png"])
    assert_points_at_versioned(out, "bundles/site.css", ["img/logo.png"])


def test_deleting_a_referenced_image_is_reported_on_the_next_build(tmp_path, capsys):
    # The stylesheet is unchanged, so its links come from the cache: the cached
    # link must not still claim its target exists.
    config = write_site(tmp_path, SITE)
    assert run_cli(config, capsys)[0] == 0
    (tmp_path / "static/img/logo.png").unlink()
    code, _, err = run_cli(config, capsys)
    assert code == 1
    assert "css/a.css:2: '../img/logo.png' not found" in err
    assert "internal error" not in err


def test_adding_a_missing_image_versions_it_on_the_next_build(tmp_path, capsys):
    config = write_site(tmp_path, {"css/a.css": "a { background: url(new.png) }\n"},
                        tables='[references]\nmissing = "warn"\n')
    code, _, err = run_cli(config, capsys)
    assert code == 0 and "css/a.css:1: 'new.png' not found" in err
    (tmp_path / "static/css/new.png").write_bytes(png((1, 2, 3)))
    code, _, err = run_cli(config, capsys)
    assert (code, err) == (0, "")
    assert_points_at_versioned(tmp_path / "out", "css/a.css", ["css/new.png"])


# --- dangling references --------------------------------------------------------------

A_CSS = """/* header */
h1 { color: red }
.a { background: url(missing-a.png) }
/* .old { background: url(in-a-comment.png) } */
"""
B_CSS = "\n".join(["p {"] + ["  color: blue;"] * 5 + ["  background: url('../img/missing-b.png');", "}", ""])


def test_dangling_references_in_two_files_reported_together(tmp_path, capsys):
    files = {"css/a.css": "h1 { color: red }\n", "css/b.css": "p { color: blue }\n"}
    config = write_site(tmp_path, files, tables=SITE_BUNDLE.replace("site.css", "all.css"))
    assert run_cli(config, capsys)[0] == 0
    published = (tmp_path / "out/manifest.json").read_bytes()

    (tmp_path / "static/css/a.css").write_text(A_CSS)
    (tmp_path / "static/css/b.css").write_text(B_CSS)
    code, out, err = run_cli(config, capsys)
    assert code == 1
    assert "2 broken references" in err
    assert "css/a.css:3: 'missing-a.png' not found" in err
    assert "css/b.css:7: '../img/missing-b.png' not found" in err
    assert "in-a-comment" not in err
    assert "bundles/" not in err  # a member's problem is reported once, at the member
    assert (tmp_path / "out/manifest.json").read_bytes() == published
    # a failed build leaves nothing that makes the next run a silent no-op
    code, _, again = run_cli(config, capsys)
    assert (code, again) == (1, err)


def test_missing_warn_turns_the_error_into_a_warning(tmp_path, capsys):
    config = write_site(tmp_path, {"css/a.css": A_CSS, "css/b.css": B_CSS},
                        tables='[references]\nmissing = "warn"\n' + SITE_BUNDLE)
    code, _, err = run_cli(config, capsys)
    assert code == 0
    assert "warning: css/a.css:3: 'missing-a.png' not found" in err
    assert err.count("'missing-a.png' not found") == 1  # not again for the bundle holding a.css
    assert "warning: css/b.css:7: '../img/missing-b.png' not found" in err
    assert "url(missing-a.png)" in built_text(tmp_path / "out", "css/a.css")


def test_missing_sourcemap_only_warns_and_the_comment_is_dropped(tmp_path, capsys):
    config = write_site(tmp_path, {
        "js/lib.min.js": "var a=1;\n//# sourceMappingURL=lib.min.js.map\n",
        "css/lib.min.css": "a{color:red}\n/*# sourceMappingURL=lib.min.css.map */\n",
    })
    code, _, err = run_cli(config, capsys)
    assert code == 0
    assert "warning: js/lib.min.js:2: 'lib.min.js.map' not found" in err
    assert "warning: css/lib.min.css:2: 'lib.min.css.map' not found" in err
    out = tmp_path / "out"
    assert "sourceMappingURL" not in built_text(out, "js/lib.min.js")
    assert "sourceMappingURL" not in built_text(out, "css/lib.min.css")
    assert built_text(out, "js/lib.min.js") == "var a=1;\n"


def test_missing_sourcemap_error_policy(tmp_path, capsys):
    config = write_site(tmp_path, {"js/lib.min.js": "var a=1;\n//# sourceMappingURL=lib.min.js.map\n"},
                        tables='[references]\nmissing_sourcemap = "error"\n')
    code, _, err = run_cli(config, capsys)
    assert code == 1 and "js/lib.min.js:2: 'lib.min.js.map' not found" in err
    assert not (tmp_path / "out/manifest.json").exists()


# --- edge cases, one fixture each -----------------------------------------------------

def build_css(tmp_path, css: str, files: dict = None, **kwargs) -> Path:
    config = write_site(tmp_path, {"css/site.css": css, **(files or {})}, **kwargs)
    run_build(config)
    return tmp_path / "out"


def test_spaces_inside_url_parentheses(tmp_path):
    # famfamfam-silk style; Django's collectstatic aborts on this
    out = build_css(tmp_path, ".i { background: url( 'sprite.png' ) no-repeat }\n",
                    {"css/sprite.png": png((9, 9, 9))})
    assert_points_at_versioned(out, "css/site.css", ["css/sprite.png"])
    assert re.search(rf"url\( ?'sprite{VERSION}\.png' ?\)", built_text(out, "css/site.css"))


def test_escaped_space_in_url(tmp_path):
    out = build_css(tmp_path, ".i { background: url(my\\ image.png) }\n",
                    {"css/my image.png": png((9, 9, 9))})
    assert_points_at_versioned(out, "css/site.css", ["css/my image.png"])
    # percent-encoded: the CSS minifier strips whitespace inside url(), even quoted
    assert re.search(rf"url\(my%20image{VERSION}\.png\)", built_text(out, "css/site.css"))


def test_uppercase_url_function(tmp_path):
    out = build_css(tmp_path, ".i { background: URL(a.png) }\n", {"css/a.png": png((1, 1, 1))})
    assert_points_at_versioned(out, "css/site.css", ["css/a.png"])


def test_import_with_media_query_keeps_the_media(tmp_path):
    out = build_css(tmp_path, '@import "x.css" screen and (max-width: 600px);\nh1{color:red}\n',
                    {"css/x.css": "p{color:blue}\n"})
    assert_points_at_versioned(out, "css/site.css", ["css/x.css"])
    css = built_text(out, "css/site.css")
    assert re.search(rf'@import "x{VERSION}\.css" screen and \(max-width: ?600px\);', css), css


def test_url_inside_a_string_is_not_a_reference(tmp_path):
    out = build_css(tmp_path, '.q::before { content: "url(x.png)" }\n')  # x.png: no such file
    assert '"url(x.png)"' in built_text(out, "css/site.css")


def test_image_set(tmp_path):
    css = ('.hero { background-image: image-set("a.png" 1x, "b.png" 2x);\n'
           '  background-image: -webkit-image-set(url(a.png) 1x, url(b.png) 2x) }\n')
    out = build_css(tmp_path, css, {"css/a.png": png((1, 1, 1)), "css/b.png": png((2, 2, 2))})
    assert_points_at_versioned(out, "css/site.css", ["css/a.png", "css/b.png"] * 2)


def test_font_src_list_keeps_queries_and_fragments(tmp_path):
    css = ("@font-face { font-family: A;\n"
           "  src: url(a.eot?#iefix) format('embedded-opentype'), url(a.woff2?v=1) format('woff2') }\n")
    out = build_css(tmp_path, css, {"css/a.eot": b"eot", "css/a.woff2": b"woff2"})
    assert_points_at_versioned(out, "css/site.css", ["css/a.eot", "css/a.woff2"])
    text = built_text(out, "css/site.css")
    assert re.search(rf"url\(a{VERSION}\.eot\?#iefix\) format\('embedded-opentype'\)", text)
    assert re.search(rf"url\(a{VERSION}\.woff2\?v=1\) format\('woff2'\)", text)


def test_dotdot_inside_the_source_folder(tmp_path):
    config = write_site(tmp_path, {
        "vendor/theme/css/deep.css": ".a { background: url(../../../img/./x/../a.png) }\n",
        "img/a.png": png((3, 3, 3))})
    run_build(config)
    assert_points_at_versioned(tmp_path / "out", "vendor/theme/css/deep.css", ["img/a.png"])


@pytest.mark.parametrize("url", ["../../../etc/passwd", "../../secret.txt"])
def test_reference_escaping_the_source_folder_is_an_error(tmp_path, capsys, url):
    (tmp_path / "secret.txt").write_text("do not publish")   # real, just outside static/
    config = write_site(tmp_path, {"css/evil.css": f"h1 {{ color: red }}\n.x {{ background: url({url}) }}\n",
                                   "img/a.png": png((1, 1, 1))})
    code, _, err = run_cli(config, capsys)
    assert code == 1
    assert f"css/evil.css:2: '{url}' points outside the source folder" in err
    out = tmp_path / "out"
    published = [p for p in out.rglob("*") if not any(part.startswith(".") for part in
                                                      p.relative_to(out).parts)]
    assert published == []  # nothing copied, not even the good files
    assert not any("passwd" in p.name or "secret" in p.name for p in out.rglob("*"))


def test_import_cycle_is_an_error_naming_it(tmp_path, capsys):
    config = write_site(tmp_path, {"css/a.css": '@import "b.css";\n',
                                   "css/b.css": '@import url(a.css);\n'})
    code, _, err = run_cli(config, capsys)
    assert code == 1
    assert "reference cycle: css/a.css -> css/b.css -> css/a.css" in err
    assert "(css/a.css:1 -> css/b.css, css/b.css:1 -> css/a.css)" in err   # file:line each
    assert not (tmp_path / "out/manifest.json").exists()


def test_preminified_js_keeps_its_sourcemap_pointed_at_the_versioned_map(tmp_path):
    config = write_site(tmp_path, {
        "js/x.min.js": "var x=1;\n//# sourceMappingURL=x.min.js.map\n",
        "js/x.min.js.map": '{"version":3,"sources":["x.js"],"mappings":"AAAA"}'})
    run_build(config)
    out = tmp_path / "out"
    text = built_text(out, "js/x.min.js")
    assert re.fullmatch(rf"var x=1;\n//# sourceMappingURL=x\.min\.js{VERSION}\.map\n", text), text
    assert_points_at_versioned(out, "js/x.min.js", ["js/x.min.js.map"])


def test_minified_css_loses_its_sourcemap_unminified_keeps_it(tmp_path):
    files = {"css/site.css": "a { color: red }\n/*# sourceMappingURL=site.css.map */\n",
             "css/site.css.map": '{"version":3,"sources":["site.scss"],"mappings":"AAAA"}'}
    run_build(write_site(tmp_path / "min", files))
    assert "sourceMappingURL" not in built_text(tmp_path / "min/out", "css/site.css")
    run_build(write_site(tmp_path / "plain", files, tables="[minify]\ncss = false\n"))
    out = tmp_path / "plain/out"
    assert re.search(rf"/\*# sourceMappingURL=site\.css{VERSION}\.map \*/", built_text(out, "css/site.css"))
    assert_points_at_versioned(out, "css/site.css", ["css/site.css.map"])


def test_minified_js_loses_its_sourcemap(tmp_path):
    config = write_site(tmp_path, {
        "js/app.js": "var answer = 42;\nconsole.log(answer);\n//# sourceMappingURL=app.js.map\n",
        "js/app.js.map": '{"version":3,"sources":["app.ts"],"mappings":"AAAA"}'})
    run_build(config)
    text = built_text(tmp_path / "out", "js/app.js")
    assert "sourceMappingURL" not in text and "answer" in text


ROOT_RELATIVE = ".a { background: url(/static/img/a.png) }\n.b { background: url(/other/b.png) }\n"


def test_root_relative_resolved_against_url_prefix(tmp_path):
    out = build_css(tmp_path, ROOT_RELATIVE, {"img/a.png": png((5, 5, 5))},
                    top='url_prefix = "/static/"\n',
                    tables='[references]\nroot_relative = "resolve"\n')
    css = built_text(out, "css/site.css")
    assert f"url(/static/{manifest(out)['img/a.png']})" in css
    assert re.search(rf"url\(/static/img/a{VERSION}\.png\)", css)
    assert "url(/other/b.png)" in css  # not under the prefix: not ours


def test_root_relative_left_alone_by_default(tmp_path):
    out = build_css(tmp_path, ROOT_RELATIVE, {"img/a.png": png((5, 5, 5))},
                    top='url_prefix = "/static/"\n')
    css = built_text(out, "css/site.css")
    assert "url(/static/img/a.png)" in css and "url(/other/b.png)" in css


def test_root_relative_resolve_reports_a_missing_target(tmp_path, capsys):
    config = write_site(tmp_path, {"css/site.css": ROOT_RELATIVE},
                        top='url_prefix = "https://cdn.example.com/static/"\n',
                        tables='[references]\nroot_relative = "resolve"\n')
    code, _, err = run_cli(config, capsys)
    assert code == 1 and "css/site.css:1: '/static/img/a.png' not found" in err


def test_root_relative_resolve_climbing_out_is_an_error(tmp_path, capsys):
    config = write_site(tmp_path, {"css/site.css": "a { b: url(/static/../../etc/passwd) }\n"},
                        tables='[references]\nroot_relative = "resolve"\n')
    code, _, err = run_cli(config, capsys)
    assert code == 1
    assert "css/site.css:1: '/static/../../etc/passwd' points outside the source folder" in err


def test_import_inside_a_bundle_after_its_first_member_warns(tmp_path, capsys):
    config = write_site(tmp_path, {
        "css/a.css": "a { color: red }\n",
        "css/b.css": "\n@import \"c.css\";\nb { color: blue }\n",
        "css/c.css": "c { color: green }\n",
    }, tables='\n[[bundle]]\nname = "all.css"\nfiles = ["css/a.css", "css/b.css"]\n')
    code, out, err = run_cli(config, capsys)
    assert code == 0
    assert err == ("warning: css/b.css:2: @import 'c.css' ends up inside bundle 'all.css', "
                   "where browsers ignore it; list the imported file in the bundle instead\n")


def test_bundle_members_lose_their_source_maps(tmp_path):
    """A member's map describes the member, not the bundle (the contract's source-map rule)."""
    config = write_site(tmp_path, {
        "js/a.min.js": "var a=1;\n//# sourceMappingURL=a.min.js.map\n",
        "js/a.min.js.map": '{"version":3,"sources":[],"mappings":""}',
        "js/b.js": "var b = 2;\n//# sourceMappingURL=b.js.map\n",
        "css/lib.min.css": "a{color:red}\n/*# sourceMappingURL=lib.min.css.map */\n",
        "css/lib.min.css.map": '{"version":3,"sources":[],"mappings":""}',
        "css/site.css": "b { color: blue }\n",
    }, tables='\n[[bundle]]\nname = "all.js"\nfiles = ["js/a.min.js", "js/b.js"]\n'
              '\n[[bundle]]\nname = "bundles/all.css"\nfiles = ["css/lib.min.css", "css/site.css"]\n')
    report = run_build(config)
    out = tmp_path / "out"
    for bundle in ("all.js", "bundles/all.css"):
        assert "sourceMappingURL" not in built_text(out, bundle)
    # the members published on their own keep theirs, pointing at the versioned map
    assert re.search(r"sourceMappingURL=a\.min\.js\.v[0-9a-f]{10}\.map", built_text(out, "js/a.min.js"))
    assert report.warnings == []
