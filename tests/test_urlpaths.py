"""URL arithmetic: locality, splitting, resolving, relative URLs, rebasing."""
from __future__ import annotations

import pytest

from assetpipe.urlpaths import (
    is_local, is_root_relative, rebase, relative_url, resolve, split_url)


@pytest.mark.parametrize("url, local", [
    ("img/a.png", True), ("../fonts/a.eot?#iefix", True), ("./a.png", True),
    ("data:image/png;base64,AA==", False), ("http://x.org/a.png", False),
    ("HTTPS://x.org/a.png", False), ("//cdn.example.com/a.png", False), ("about:blank", False),
    ("mailto:a@b.c", False), ("#default#VML", False), ("", False), ("?v=1", False),
    ("/img/a.png", False), ("\\\\host\\a.png", False),
])
def test_is_local(url, local):
    assert is_local(url) is local


def test_is_root_relative():
    assert is_root_relative("/img/a.png")
    assert not is_root_relative("//cdn.example.com/a.png")
    assert not is_root_relative("img/a.png")


@pytest.mark.parametrize("url, expected", [
    ("font.eot?#iefix", ("font.eot", "?#iefix")),
    ("icons.woff2?v=4.7.0", ("icons.woff2", "?v=4.7.0")),
    ("a.svg?v=4.7.0#fontawesomeregular", ("a.svg", "?v=4.7.0#fontawesomeregular")),
    ("a.svg#x?y", ("a.svg", "#x?y")),
    ("my%20image.png", ("my image.png", "")),
])
def test_split_url(url, expected):
    assert split_url(url) == expected


@pytest.mark.parametrize("base, path, expected", [
    ("css/site.css", "../fonts/a.eot", "fonts/a.eot"),
    ("css/site.css", "img/./a.png", "css/img/a.png"),
    ("site.css", "a.png", "a.png"),
    ("css/site.css", "../../a.png", None),
    ("css/site.css", "..", None),
    ("css/site.css", "/img/a.png", None),
])
def test_resolve(base, path, expected):
    assert resolve(base, path) == expected


@pytest.mark.parametrize("src, dst, expected", [
    ("css/site.css", "img/a.v1234abcd.png", "../img/a.v1234abcd.png"),
    ("css/site.css", "css/b.v1234abcd.css", "b.v1234abcd.css"),
    ("site.css", "css/img/a.png", "css/img/a.png"),
    ("a/b/c.css", "a/x.png", "../x.png"),
    ("a/b.css", "a", "../a"),
    ("c.css", "100% #1?.png", "100%25 %231%3F.png"),
])
def test_relative_url(src, dst, expected):
    assert relative_url(src, dst) == expected


@pytest.mark.parametrize("url, from_dir, to_dir, expected", [
    ("images/ui-icons.png", "vendor/jquery-ui/themes/base", "css",
     "../vendor/jquery-ui/themes/base/images/ui-icons.png"),
    ("../fonts/a.eot?#iefix", "vendor/fa/css", "css", "../vendor/fa/fonts/a.eot?#iefix"),
    ("a.png", "css", "css", "a.png"),
    ("img/a.png", "", "css", "../img/a.png"),
    ("#default#VML", "vendor/leaflet", "css", "#default#VML"),
    ("data:image/png;base64,AA==", "a", "b", "data:image/png;base64,AA=="),
    ("/img/a.png", "a", "b", "/img/a.png"),
])
def test_rebase(url, from_dir, to_dir, expected):
    assert rebase(url, from_dir, to_dir) == expected
