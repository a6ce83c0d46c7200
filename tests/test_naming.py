"""assetpipe.naming: where the version goes, and which names count as versioned."""
from __future__ import annotations

import pytest

from assetpipe import naming, policy


@pytest.mark.parametrize("logical, expected", [
    ("css/site.css", "css/site.v0123456789.css"),
    ("js/jquery.min.js", "js/jquery.min.v0123456789.js"),
    ("LICENSE", "LICENSE.v0123456789"),
    ("a.b/README", "a.b/README.v0123456789"),
    ("fonts/.htaccess", "fonts/.htaccess.v0123456789"),
    ("my file.css", "my file.v0123456789.css"),
    ("notes.", "notes..v0123456789"),  # an empty extension is none: the name stays recognisable
])
def test_versioned_name(logical, expected):
    assert naming.versioned_name(logical, "0123456789") == expected
    assert policy.is_versioned(expected)


@pytest.mark.parametrize("path, versioned", [
    ("css/site.v0123456789.css", True), ("LICENSE.v0123abcd", True),
    ("js/a.v0123456789.js.gzip", True), ("js/a.v0123456789.js.gz", True),
    ("js/a.v0123456789.js.br", True), ("css/site.css", False), ("js/a.v012.js", False),
    ("js/a.vABCDEF0123.js", False), ("manifest.json", False),
])
def test_is_versioned(path, versioned):
    assert policy.is_versioned(path) is versioned


def test_content_version_is_lowercase_hex_of_requested_length():
    assert naming.content_version(b"x", 8) == "2d711642"
    assert len(naming.content_version(b"x", 32)) == 32
