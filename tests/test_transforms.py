"""assetpipe.transforms: the UTF-8 rule for JS/CSS, single files and bundle members."""
from __future__ import annotations

import pytest

from assetpipe.cli import main
from assetpipe.config import Images, Minify
from assetpipe.transforms import Settings, transform_bundle, transform_file
from conftest import build_dir, load_manifest, write_config, write_tree

LATIN1_JS = b"var a = 1;\nvar s = '\xe9t\xe9';\n"
LATIN1_CSS = b"a { color: red; }\n\n/* caf\xe9 */\nb { color: blue; }\n"


@pytest.mark.parametrize("name, data, line", [("js/latin1.js", LATIN1_JS, 2),
                                              ("css/latin1.css", LATIN1_CSS, 3)])
def test_single_non_utf8_file_is_copied_unminified_with_a_warning(tmp_path, capsys, name, data, line):
    write_tree(tmp_path / "static", {name: data, "js/ok.js": "var  ok = 1 ;\n"})
    cfg = write_config(tmp_path)
    assert main(["build", "--config", str(cfg), "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (f"warning: {name}:{line}: not valid UTF-8 (byte 0xe9); save the file as UTF-8; "
                   "copied unchanged, served without charset=utf-8 (make the server rules "
                   "again after this build)\n")
    output = tmp_path / "out"
    assets = load_manifest(output)["assets"]
    assert (output / assets[name]["path"]).read_bytes() == data
    assert (output / assets["js/ok.js"]["path"]).read_bytes() == b"var ok=1;"


def test_non_utf8_bundle_member_is_an_error_naming_file_and_line(tmp_path, capsys):
    write_tree(tmp_path / "static", {"js/ok.js": "var ok = 1;\n", "js/latin1.js": LATIN1_JS})
    cfg = write_config(tmp_path, extra='[[bundle]]\nname = "all.js"\nfiles = ["js/ok.js", "js/latin1.js"]\n')
    assert main(["build", "--config", str(cfg)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "error: js/latin1.js:2: not valid UTF-8 (byte 0xe9); save the file as UTF-8\n"
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_bom_is_dropped_from_minified_text():
    content, warnings = transform_file("a.js", b"\xef\xbb\xbfvar  a = 1;\n", Settings(), {})
    assert (content, warnings) == (b"var a=1;", [])


def test_preminified_and_binary_files_pass_through_unchanged():
    data = b"var  a = 1;  // keep me\n"
    assert transform_file("a.min.js", data, Settings(), {}) == (data, [])
    png = b"\x89PNG\r\n\x1a\n\xff\xfe"
    assert transform_file("x.png", png, Settings(images=Images(png="off")), {}) == (png, [])


def test_minify_off_keeps_bytes():
    data = b"var  a = 1;  /* comment */\n"
    assert transform_file("a.js", data, Settings(minify=Minify(js=False)), {}) == (data, [])
    assert transform_file("a.css", b"a {  }\n", Settings(minify=Minify(css=False)), {}) == (b"a {  }\n", [])


def test_bundle_members_minified_individually_and_joined():
    content, _ = transform_bundle("all.js", [("a.js", b"var  a = 1\n"),
                                             ("b.min.js", b"var  b  = 2\n")], Settings(), {})
    assert content == b"var a=1\n;\nvar  b  = 2\n"


def test_text_that_is_not_utf8_is_marked_in_the_manifest(tmp_path):
    """Every text type, not only JS/CSS: the entry says `not_utf8` (the server
    rules and --check read it), through no-op and incremental rebuilds, until
    the file is saved as UTF-8."""
    latin1 = {"css/latin1.css": LATIN1_CSS, "img/latin1.svg": b"<svg><!-- \xe9 --></svg>\n",
              "notes.txt": b"r\xe9sum\xe9\n", "page.html": b"<p>caf\xe9</p>\n"}
    write_tree(tmp_path / "static", {**latin1, "css/ok.css": "a::before { content: 'é' }\n",
                                     "img/bytes.png": b"\x89PNG\r\n\x1a\n\xff\xfe"})
    cfg = write_config(tmp_path)
    for _ in range(2):  # cold, then a no-op
        build_dir(cfg)
        assets = load_manifest(tmp_path / "out")["assets"]
        assert {name for name, entry in assets.items() if entry.get("not_utf8")} == set(latin1)
        assert all(entry["not_utf8"] is True for name, entry in assets.items() if name in latin1)
    write_tree(tmp_path / "static", {"notes.txt": "résumé\n"})
    build_dir(cfg)
    assert "not_utf8" not in load_manifest(tmp_path / "out")["assets"]["notes.txt"]
