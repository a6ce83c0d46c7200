"""assetpipe.sources: what gets published, bundle members, odd names, symlinks."""
from __future__ import annotations

import os
import re

from assetpipe.cli import main
from conftest import build_dir, load_manifest, write_config, write_tree


def bundle_config(tmp_path, files: str):
    return write_config(tmp_path, extra=f'[[bundle]]\nname = "js/site.js"\nfiles = {files}\n')


def test_missing_bundle_file_names_bundle_and_pattern(tmp_path, capsys):
    write_tree(tmp_path / "static", {"js/app.js": "var a;\n"})
    cfg = bundle_config(tmp_path, '["js/app.js", "js/missing.js"]')
    assert main(["build", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert err == ("error: bundle 'js/site.js': file 'js/missing.js' does not exist "
                   "under the source folder\n")


def test_glob_matching_nothing_is_an_error(tmp_path, capsys):
    write_tree(tmp_path / "static", {"js/app.js": "var a;\n"})
    cfg = bundle_config(tmp_path, '["js/vendor/*.js"]')
    assert main(["build", "--config", str(cfg)]) == 1
    assert capsys.readouterr().err == ("error: bundle 'js/site.js': pattern 'js/vendor/*.js' "
                                       "matches no file under the source folder\n")


def test_globs_expand_sorted_and_keep_declared_order(tmp_path):
    write_tree(tmp_path / "static", {"js/b.js": "b();\n", "js/a.js": "a();\n",
                                     "js/first.js": "first();\n", "js/deep/c.js": "c();\n"})
    cfg = bundle_config(tmp_path, '["js/first.js", "js/*.js", "js/**/*.js"]')
    build_dir(cfg)
    entry = load_manifest(tmp_path / "out")["assets"]["js/site.js"]
    assert entry["sources"] == ["js/first.js", "js/a.js", "js/b.js", "js/deep/c.js"]
    assert (tmp_path / "out" / entry["path"]).read_text() == "first();\n;\na();\n;\nb();\n;\nc();\n"


def test_names_with_spaces_and_non_ascii(tmp_path):
    write_tree(tmp_path / "static", {
        "css/my styles.css": "body { color: red; }\n",
        "js/café/ünïcödé.js": "var x = 1;\n",
        "docs/READ ME": "plain text, no extension\n",
        "img/日本.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>\n",
    })
    cfg = bundle_config(tmp_path, '["js/café/*.js"]')
    assert main(["build", "--config", str(cfg), "--quiet"]) == 0
    output = tmp_path / "out"
    assets = load_manifest(output)["assets"]
    assert set(assets) == {"css/my styles.css", "js/café/ünïcödé.js", "docs/READ ME",
                           "img/日本.svg", "js/site.js"}
    patterns = {"css/my styles.css": r"css/my styles\.v[0-9a-f]{10}\.css",
                "js/café/ünïcödé.js": r"js/café/ünïcödé\.v[0-9a-f]{10}\.js",
                "docs/READ ME": r"docs/READ ME\.v[0-9a-f]{10}",
                "img/日本.svg": r"img/日本\.v[0-9a-f]{10}\.svg"}
    for logical, pattern in patterns.items():
        assert re.fullmatch(pattern, assets[logical]["path"]), assets[logical]["path"]
        assert (output / assets[logical]["path"]).is_file()
        assert (output / logical).is_file()
    assert assets["js/site.js"]["sources"] == ["js/café/ünïcödé.js"]


def test_dotfiles_and_dot_folders_are_skipped(tmp_path):
    write_tree(tmp_path / "static", {"app.js": "var a;\n", ".env": "SECRET=1\n",
                                     ".git/config": "[core]\n", "css/.hidden.css": "a{}\n"})
    cfg = write_config(tmp_path)
    build_dir(cfg)
    output = tmp_path / "out"
    assert set(load_manifest(output)["assets"]) == {"app.js"}
    published = {p.name for p in output.rglob("*")}
    assert not {".env", "config", ".hidden.css"} & published


def test_symlink_loop_is_an_error(tmp_path, capsys):
    write_tree(tmp_path / "static", {"js/app.js": "var a;\n"})
    os.symlink("..", tmp_path / "static" / "js" / "up")
    cfg = write_config(tmp_path)
    assert main(["build", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'static' / 'js' / 'up'}: symlink loop: points back to")
    assert err.count("\n") == 1


def test_symlink_inside_source_is_followed_and_outside_is_not_published(tmp_path):
    write_tree(tmp_path / "static", {"js/app.js": "var a;\n"})
    write_tree(tmp_path / "private", {"secret.txt": "password\n", "keys/id.txt": "key\n"})
    os.symlink(tmp_path / "private" / "secret.txt", tmp_path / "static" / "secret.txt")
    os.symlink(tmp_path / "private" / "keys", tmp_path / "static" / "keys")
    os.symlink("js/app.js", tmp_path / "static" / "alias.js")
    os.symlink("does-not-exist.js", tmp_path / "static" / "dangling.js")
    cfg = write_config(tmp_path)
    build_dir(cfg)
    output = tmp_path / "out"
    assert set(load_manifest(output)["assets"]) == {"js/app.js", "alias.js"}
    assert not any(b"password" in p.read_bytes() or b"key\n" == p.read_bytes()
                   for p in output.rglob("*") if p.is_file())


def test_fifo_and_socket_are_skipped(tmp_path):
    import socket
    write_tree(tmp_path / "static", {"app.js": "var a;\n"})
    os.mkfifo(tmp_path / "static" / "pipe.js")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "static" / "sock.js"))
    try:
        build_dir(write_config(tmp_path))
    finally:
        sock.close()
    assert set(load_manifest(tmp_path / "out")["assets"]) == {"app.js"}


def test_scan_returns_paths_in_sorted_order_without_sorting_the_site(tmp_path):
    """The walk visits each folder's entries sorted, folders as "name/": the
    same order as sorting the full paths ('.' and '-' sort before '/')."""
    from assetpipe.sources import scan
    names = ["a/b.js", "a.b", "a-c/d.js", "a/b/c.txt", "ab", "A/x", "é/y", "a0/z", "a/.x/h"]
    write_tree(tmp_path / "static", {name: name for name in names if "/.x/" not in name})
    (tmp_path / "static" / "a" / ".x").mkdir()
    found = list(scan(str(tmp_path / "static")).files())
    assert found == sorted(name for name in names if "/.x/" not in name)
    assert found != [n for n in names if "/.x/" not in n]   # the input order was not sorted
