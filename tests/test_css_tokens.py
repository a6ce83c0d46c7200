"""CSS Syntax Level 3 tokenizer pieces: escapes, names, strings, url()."""
from __future__ import annotations

import pytest

from assetpipe.css_tokens import (
    consume_escape, consume_name, consume_string, consume_url, serialise_string,
    serialise_url)


@pytest.mark.parametrize("text, expected", [
    ("41", ("A", 2)),
    ("41 x", ("A", 3)),            # one whitespace after a hex escape belongs to it
    ("41\r\nx", ("A", 4)),         # ... and CRLF is one whitespace
    ("0 ", ("\ufffd", 2)),         # NUL
    ("d800", ("\ufffd", 4)),       # surrogate
    ("110000", ("\ufffd", 6)),     # beyond Unicode
    ("10ffff7", ("\U0010ffff", 6)),  # at most six hex digits
    ("(", ("(", 1)),
    ("", ("\ufffd", 0)),           # backslash at EOF
])
def test_consume_escape(text, expected):
    assert consume_escape(text, 0) == expected


def test_consume_name_mixes_plain_and_escaped_code_points():
    assert consume_name(r"u\72 l(x)", 0) == ("url", 6)
    assert consume_name("a\\\nb", 0) == ("a", 1)  # an escaped newline ends the name


@pytest.mark.parametrize("text, expected", [
    ('"abc" x', ("abc", 5)),
    ("'a\\'b'", ("a'b", 6)),
    ('"a\\\r\nb"', ("ab", 7)),     # escaped newline: line continuation
    ('"a\nb"', (None, 2)),          # raw newline: bad string, newline not consumed
    ('"open', ("open", 5)),         # EOF closes the string
])
def test_consume_string(text, expected):
    assert consume_string(text, 0) == expected


@pytest.mark.parametrize("text, expected", [
    ("url(a.png) x", (("a.png", 0, 10), 10)),
    ("url(\n a.png\f) x", (("a.png", 0, 13), 13)),
    ("url( 'a.png' ) x", (("a.png", 0, 14), 14)),
    ("url(a b) x", (None, 8)),
    ("url(a\\)b) x", (("a)b", 0, 9), 9)),
    ("url(a\\\n) x", (None, 8)),   # a backslash-newline is a bad url
    ("url(a.png", (("a.png", 0, 9), 9)),
])
def test_consume_url(text, expected):
    assert consume_url(text, 0, 4) == expected


def test_serialise():
    assert serialise_string('a"b\\c\nd', '"') == '"a\\"b\\\\c\\a d"'
    assert serialise_url("a.png", None) == "url(a.png)"
    assert serialise_url("a b.png", None) == 'url("a b.png")'
    assert serialise_url("a.png", "'") == "url('a.png')"
