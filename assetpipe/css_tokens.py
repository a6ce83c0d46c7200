"""CSS Syntax Level 3 tokenizer pieces (section 4) that can hide or carry a URL.

Each function consumes one construct starting at an index and returns what it
read plus the index after it, following the spec's "consume a ..." algorithms
(escapes, names, strings, url-tokens) on the raw text: offsets stay valid for
splicing, so the spec's preprocessing (CRLF/CR/FF to LF, NUL to U+FFFD) is
applied where it matters instead of up front.
"""
from __future__ import annotations

import re

_NAME_CHARS = "A-Za-z0-9_\\-\u0080-\U0010ffff"  # "name code points"
NAME_CHAR = re.compile(f"[{_NAME_CHARS}]")
_NAME_RUN = re.compile(f"[{_NAME_CHARS}]+")
WS = re.compile(r"[ \t\n\r\f]*")
NEWLINES = ("\n", "\r", "\f")
_HEX_ESCAPE = re.compile(r"([0-9A-Fa-f]{1,6})(?:\r\n|[ \t\n\r\f])?")
_STRING_RUN = {q: re.compile(f"[^{q}\\\\\n\r\f]+") for q in "\"'"}
# Characters a url-token may hold unescaped; NUL is allowed because the
# spec's preprocessing turns it into U+FFFD.
_URL_RUN = re.compile(r"[^\"'()\\ \t\n\r\f\x01-\x08\x0b\x0e-\x1f\x7f]+")
# What an unquoted url() cannot hold as is.
_NEEDS_QUOTES = re.compile(r"[\"'()\\\s\x00-\x08\x0b\x0e-\x1f\x7f]")
# Newlines cannot appear raw in a string; hex escapes with their terminating space.
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\a ", "\r": "\\d ", "\f": "\\c "})


def valid_escape(text: str, i: int) -> bool:
    """Does the backslash at i start an escape (not an escaped newline)?"""
    return text[i + 1:i + 2] not in NEWLINES


def consume_escape(text: str, i: int) -> tuple[str, int]:
    """Decode the escape whose backslash is just before i."""
    m = _HEX_ESCAPE.match(text, i)
    if m:
        cp = int(m[1], 16)
        if cp == 0 or 0xD800 <= cp <= 0xDFFF or cp > 0x10FFFF:
            return "\ufffd", m.end()
        return chr(cp), m.end()
    if i >= len(text):
        return "\ufffd", i
    return text[i], i + 1


def skip_whitespace(text: str, i: int) -> int:
    """The index after the (possibly empty) whitespace run at i."""
    m = WS.match(text, i)
    return m.end() if m else i


def _take_run(run: re.Pattern[str], text: str, i: int, parts: list[str]) -> int:
    """Append the run of plain code points at i (if any) to `parts`; the index after it."""
    m = run.match(text, i)
    if not m:
        return i
    parts.append(m.group())
    return m.end()


def consume_name(text: str, i: int) -> tuple[str, int]:
    """Consume a name (name code points and escapes) from i."""
    parts: list[str] = []
    while True:
        i = _take_run(_NAME_RUN, text, i, parts)
        if text[i:i + 1] == "\\" and valid_escape(text, i):
            ch, i = consume_escape(text, i + 1)
            parts.append(ch)
        else:
            return "".join(parts), i


def consume_string(text: str, i: int) -> tuple[str | None, int]:
    """Consume the string token opening at i; None for a bad-string."""
    quote, run, parts, n = text[i], _STRING_RUN[text[i]], [], len(text)
    i += 1
    while i < n:
        m = run.match(text, i)
        if m:
            parts.append(m.group())
            i = m.end()
            continue
        c = text[i]
        if c == quote:
            return "".join(parts), i + 1
        if c != "\\":  # a raw newline ends a string badly (not consumed)
            return None, i
        nxt = text[i + 1:i + 2]
        if nxt == "":
            i += 1
        elif nxt in NEWLINES:  # escaped newline: a line continuation
            i += 3 if text.startswith("\r\n", i + 1) else 2
        else:
            ch, i = consume_escape(text, i + 1)
            parts.append(ch)
    return "".join(parts), n  # unclosed at EOF: still a string token


def _bad_url_remnants(text: str, i: int) -> int:
    """Skip the rest of a bad url-token (up to and including `)`)."""
    n = len(text)
    while i < n:
        if text[i] == ")":
            return i + 1
        if text[i] == "\\" and valid_escape(text, i):
            _, i = consume_escape(text, i + 1)
        else:
            i += 1
    return n


def _url_token(text: str, i: int) -> tuple[str | None, int]:
    """Consume an unquoted url-token body from i; None for a bad-url."""
    parts: list[str] = []
    while True:
        i = _take_run(_URL_RUN, text, i, parts)
        c = text[i:i + 1]
        if c in ("", ")"):
            return "".join(parts), i + len(c)
        if c in " \t\n\r\f":
            i = skip_whitespace(text, i)
            c = text[i:i + 1]
            if c in ("", ")"):
                return "".join(parts), i + len(c)
            return None, _bad_url_remnants(text, i)
        if c == "\\" and valid_escape(text, i):
            ch, i = consume_escape(text, i + 1)
            parts.append(ch)
            continue
        return None, _bad_url_remnants(text, i)  # quote, `(`, control char


def consume_url(text: str, start: int, i: int) -> tuple[tuple[str, int, int] | None, int]:
    """`url(` spans start..i; return ((value, tok_start, tok_end) or None, end).

    `url("x")` is a function token with a string argument; if anything but
    whitespace follows the string (CSS Values 4 url modifiers), only the
    string is replaced.
    """
    j = skip_whitespace(text, i)
    if text[j:j + 1] in ("'", '"'):
        value, end = consume_string(text, j)
        if value is None:
            return None, end
        k = skip_whitespace(text, end)
        if text[k:k + 1] == ")":
            return (value, start, k + 1), k + 1
        return (value, j, end), end
    value, end = _url_token(text, j)
    return ((value, start, end) if value is not None else None), end


def skip_whitespace_and_comments(text: str, i: int) -> int:
    while True:
        i = skip_whitespace(text, i)
        if not text.startswith("/*", i):
            return i
        end = text.find("*/", i + 2)
        i = len(text) if end < 0 else end + 2


def serialise_string(value: str, quote: str) -> str:
    """A string token with the value `value`, delimited by `quote`."""
    escaped = value.translate(_STRING_ESCAPES).replace(quote, "\\" + quote)
    return f"{quote}{escaped}{quote}"


def serialise_url(value: str, quote: str | None) -> str:
    """`url(value)`, quoted with `quote`, or with `"` when the value needs it."""
    if quote is None and not _NEEDS_QUOTES.search(value):
        return f"url({value})"
    return "url(" + serialise_string(value, quote or '"') + ")"
