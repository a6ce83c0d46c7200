"""References between assets: find them in CSS and JS, and rewrite them.

A stylesheet names other assets through `url(...)`, `@import` and
`image-set()`; CSS and JS name their source map in a `sourceMappingURL`
comment.  The build graph needs those names to version referenced files first
and to rewrite the referencing text afterwards.

The CSS scanner follows the tokenizer of CSS Syntax Level 3 (section 4) for
everything that can hide or change a URL: comments, strings, escapes,
ident/function names and url-tokens.  A `url(` inside a comment or a string is
therefore never a reference, and valid CSS such as `url( 'a.png' )` or
`url(my\\ image.png)` is -- the two ways regexes over raw text (Django's
HashedFilesMixin) go wrong.  A compiled regex only jumps to the next place
where a token we care about can start, which keeps a 150 KB stylesheet in the
low milliseconds.

Offsets are indices into the text exactly as given (no newline or NUL
preprocessing), so `rewrite` can splice replacements back in one pass.  The
URL helpers (`is_local`, `split_url`, `resolve`, `relative_url`, `rebase`)
live in `assetpipe.urlpaths` and are re-exported here.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from assetpipe.urlpaths import (  # re-exported: one import for the graph
    is_local, is_root_relative, rebase, relative_url, resolve, split_url)

__all__ = [
    "Reference", "scan_css", "scan_js", "rewrite",
    "is_local", "is_root_relative", "split_url", "resolve", "relative_url", "rebase",
]


@dataclass(frozen=True)
class Reference:
    """One URL found in a text.

    `kind` is "url" (url() or an image-set() string), "import" (the URL of an
    @import) or "sourcemap".  `url` is the decoded value: escapes resolved,
    quotes stripped, surrounding whitespace trimmed.  `text[start:end]` is the
    whole token `rewrite` replaces: the `url(...)` function, the quoted string,
    or just the URL inside a sourceMappingURL comment.  `line` is 1-based.
    """
    kind: str
    url: str
    start: int
    end: int
    line: int


# --- CSS tokenizer pieces (CSS Syntax Level 3, section 4) -------------------

_NAME_CHARS = "A-Za-z0-9_\\-\u0080-\U0010ffff"  # "name code points"
_NAME_CHAR = re.compile(f"[{_NAME_CHARS}]")
_NAME_RUN = re.compile(f"[{_NAME_CHARS}]+")
_WS = re.compile(r"[ \t\n\r\f]*")
_NEWLINES = ("\n", "\r", "\f")
_HEX_ESCAPE = re.compile(r"([0-9A-Fa-f]{1,6})(?:\r\n|[ \t\n\r\f])?")
_STRING_RUN = {q: re.compile(f"[^{q}\\\\\n\r\f]+") for q in "\"'"}
# Characters a url-token may hold unescaped; NUL is allowed because the
# spec's preprocessing turns it into U+FFFD.
_URL_RUN = re.compile(r"[^\"'()\\ \t\n\r\f\x01-\x08\x0b\x0e-\x1f\x7f]+")
# Where a token we care about may start.  Function names are checked when
# their `(` is reached (a plain character class is several times faster to
# search than an alternation); names holding escapes are consumed whole by the
# backslash branch, so a `(` reached here follows a plain name.
_NEXT = re.compile(r"[/\"'\\@(]")
_NEXT_IN_SET = re.compile(r"[/\"'\\@()]")
_SET_FUNCTIONS = ("image-set", "-webkit-image-set")
_FUNCTIONS = ("url",) + _SET_FUNCTIONS
_LONGEST_FUNCTION = max(map(len, _FUNCTIONS))
# The comment body of `/*# sourceMappingURL=x */`: the URL must be all of it.
_CSS_SOURCEMAP = re.compile(r"[#@][ \t]*sourceMappingURL=(\S*?)\s*(?:\*/|\Z)")


def _valid_escape(text: str, i: int) -> bool:
    """Does the backslash at i start an escape (not an escaped newline)?"""
    return text[i + 1:i + 2] not in _NEWLINES


def _escape(text: str, i: int) -> tuple[str, int]:
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


def _name(text: str, i: int) -> tuple[str, int]:
    """Consume a name (name code points and escapes) from i."""
    parts = []
    while True:
        m = _NAME_RUN.match(text, i)
        if m:
            parts.append(m.group())
            i = m.end()
        if text[i:i + 1] == "\\" and _valid_escape(text, i):
            ch, i = _escape(text, i + 1)
            parts.append(ch)
        else:
            return "".join(parts), i


def _string(text: str, i: int) -> tuple[str | None, int]:
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
        elif nxt in _NEWLINES:  # escaped newline: a line continuation
            i += 3 if text.startswith("\r\n", i + 1) else 2
        else:
            ch, i = _escape(text, i + 1)
            parts.append(ch)
    return "".join(parts), n  # unclosed at EOF: still a string token


def _bad_url_remnants(text: str, i: int) -> int:
    """Skip the rest of a bad url-token (up to and including `)`)."""
    n = len(text)
    while i < n:
        if text[i] == ")":
            return i + 1
        if text[i] == "\\" and _valid_escape(text, i):
            _, i = _escape(text, i + 1)
        else:
            i += 1
    return n


def _url_token(text: str, i: int) -> tuple[str | None, int]:
    """Consume an unquoted url-token body from i; None for a bad-url."""
    parts = []
    while True:
        m = _URL_RUN.match(text, i)
        if m:
            parts.append(m.group())
            i = m.end()
        c = text[i:i + 1]
        if c in ("", ")"):
            return "".join(parts), i + len(c)
        if c in " \t\n\r\f":
            i = _WS.match(text, i).end()
            c = text[i:i + 1]
            if c in ("", ")"):
                return "".join(parts), i + len(c)
            return None, _bad_url_remnants(text, i)
        if c == "\\" and _valid_escape(text, i):
            ch, i = _escape(text, i + 1)
            parts.append(ch)
            continue
        return None, _bad_url_remnants(text, i)  # quote, `(`, control char


def _url(text: str, start: int, i: int) -> tuple[tuple[str, int, int] | None, int]:
    """`url(` spans start..i; return ((value, tok_start, tok_end) or None, end).

    `url("x")` is a function token with a string argument; if anything but
    whitespace follows the string (CSS Values 4 url modifiers), only the
    string is replaced.
    """
    j = _WS.match(text, i).end()
    if text[j:j + 1] in ("'", '"'):
        value, end = _string(text, j)
        if value is None:
            return None, end
        k = _WS.match(text, end).end()
        if text[k:k + 1] == ")":
            return (value, start, k + 1), k + 1
        return (value, j, end), end
    value, end = _url_token(text, j)
    return ((value, start, end) if value is not None else None), end


def _skip_ws_and_comments(text: str, i: int) -> int:
    while True:
        i = _WS.match(text, i).end()
        if not text.startswith("/*", i):
            return i
        end = text.find("*/", i + 2)
        i = len(text) if end < 0 else end + 2


def _import(text: str, i: int) -> tuple[tuple[str, int, int] | None, int]:
    """After `@import` (ending at i): the string or url() that follows."""
    k = _skip_ws_and_comments(text, i)
    if text[k:k + 1] in ("'", '"'):
        value, end = _string(text, k)
        return ((value, k, end) if value is not None else None), end
    name, j = _name(text, k)
    if name.lower() == "url" and text[j:j + 1] == "(":
        return _url(text, k, j + 1)
    return None, k


def _function_before(text: str, paren: int) -> str | None:
    """The plain function name ending at `paren`, if it is one we care about.

    The name must start an ident: a name code point before it makes a longer
    name (`foourl(`), a `#` a hash token, an `@` an at-keyword.
    """
    tail = text[max(0, paren - _LONGEST_FUNCTION):paren].lower()
    for name in _FUNCTIONS:
        start = paren - len(name)
        if tail.endswith(name) and not (
                start > 0 and (text[start - 1] in "#@" or _NAME_CHAR.match(text[start - 1]))):
            return name
    return None


def scan_css(text: str) -> list[Reference]:
    """All references in a stylesheet, in text order."""
    found: list[tuple[str, str, int, int]] = []  # kind, url, start, end
    depth = 0  # paren depth inside image-set(); its strings at depth 1 are URLs
    i, n = 0, len(text)
    while True:
        m = (_NEXT_IN_SET if depth else _NEXT).search(text, i)
        if m is None:
            break
        s = m.start()
        c, i, name, ref = text[s], s + 1, None, None
        if c == "/":
            if text.startswith("*", i):
                end = text.find("*/", s + 2)
                i = n if end < 0 else end + 2
                sm = _CSS_SOURCEMAP.match(text, s + 2, i)
                if sm and sm[1]:
                    ref = ("sourcemap", (sm[1], sm.start(1), sm.end(1)))
        elif c in "\"'":
            value, i = _string(text, s)
            if depth == 1 and value is not None:
                ref = ("url", (value, s, i))
        elif c == ")":
            depth -= 1
        elif c == "@":
            name, i = _name(text, i)
            if name.lower() == "import":
                ref, i = _import(text, i)
                ref = ref and ("import", ref)
            name = None
        elif c == "(":
            name = _function_before(text, s) or ""
            if name:
                s -= len(name)
        elif _valid_escape(text, s):  # a backslash starting or inside a name
            while s > 0 and _NAME_CHAR.match(text[s - 1]):
                s -= 1
            name, i = _name(text, s)
            if text[i:i + 1] == "(" and text[s - 1:s] not in ("#", "@"):
                name, i = name.lower(), i + 1
            else:
                name = None
        if name == "url":
            ref, i = _url(text, s, i)
            ref = ref and ("url", ref)
        elif name is not None and (depth or name in _SET_FUNCTIONS):
            depth += 1
        if ref:
            kind, (value, start, end) = ref
            found.append((kind, value, start, end))
    return _with_lines(text, found)


def _with_lines(text: str, found: list[tuple[str, str, int, int]]) -> list[Reference]:
    """Attach 1-based line numbers, counting CSS newlines (\\n, \\r\\n, \\r, \\f).

    No reference starts between a \\r and its \\n, so counting between
    consecutive starts never splits a CRLF.
    """
    refs, line, pos = [], 1, 0
    for kind, value, start, end in found:
        line += (text.count("\n", pos, start) + text.count("\r", pos, start)
                 - text.count("\r\n", pos, start) + text.count("\f", pos, start))
        pos = start
        refs.append(Reference(kind, value.strip(" \t\n\r\f"), start, end, line))
    return refs


# --- JavaScript ---------------------------------------------------------------

_JS_BREAKS = ("\n", "\r", "\u2028", "\u2029")  # ECMAScript line terminators
_JS_SOURCEMAP = re.compile(r"[ \t]*//[#@][ \t]*sourceMappingURL=(\S*?)[ \t]*\Z")


def _js_lines_backwards(text: str):
    """(start, line) pairs from the last line up, without splitting the text."""
    breaks = [b for b in _JS_BREAKS if b in text]
    end = len(text)
    while True:
        start = max((text.rfind(b, 0, end) for b in breaks), default=-1) + 1
        yield start, text[start:end]
        if start == 0:
            return
        end = start - 2 if text.startswith("\r\n", start - 2) else start - 1


def _js_line_number(text: str, pos: int) -> int:
    return 1 + sum(text.count(b, 0, pos) for b in _JS_BREAKS) - text.count("\r\n", 0, pos)


def scan_js(text: str) -> list[Reference]:
    """The `//# sourceMappingURL=` (or legacy `//@`) comments ending a script.

    Only the trailing block of blank and `//` lines counts: a line that looks
    like such a comment but sits inside a string, template literal or block
    comment is always followed by the line closing it, so it is never in that
    block.  No JavaScript tokenizer is needed, and only the last lines are read.
    """
    found = []
    for start, body in _js_lines_backwards(text):
        sm = _JS_SOURCEMAP.match(body)
        if sm and sm[1]:
            found.append(Reference("sourcemap", sm[1], start + sm.start(1),
                                   start + sm.end(1), _js_line_number(text, start)))
        elif body.strip() and not body.lstrip().startswith("//"):
            break
    return found[::-1]


# --- Rewriting ----------------------------------------------------------------

_CSS_STRING_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\a ", "\r": "\\d ", "\f": "\\c "})
_NEEDS_QUOTES = re.compile(r"[\"'()\\\s\x00-\x08\x0b\x0e-\x1f\x7f]")
_COMMENT_UNSAFE = re.compile(r"[\s*]")


def _css_string(value: str, quote: str) -> str:
    escaped = value.translate(_CSS_STRING_ESCAPES).replace(quote, "\\" + quote)
    return f"{quote}{escaped}{quote}"


def _serialise(text: str, ref: Reference, url: str) -> str:
    """The new token for `ref`, in the same form (and quote) as the old one."""
    if ref.kind == "sourcemap":  # inside a comment: no whitespace, no `*/`
        return _COMMENT_UNSAFE.sub(lambda m: "%%%02X" % ord(m.group()), url)
    first = text[ref.start]
    if first in "\"'":
        return _css_string(url, first)
    inner = text[text.index("(", ref.start) + 1:ref.end].lstrip(" \t\n\r\f")
    quote = inner[:1] if inner[:1] in ("'", '"') else None
    if quote is None and not _NEEDS_QUOTES.search(url):
        return f"url({url})"
    return f"url({_css_string(url, quote or chr(34))})"


def rewrite(text: str,
            replacements: Mapping[Reference, str] | Iterable[tuple[Reference, str]]) -> str:
    """Replace each reference's token with a new URL, correctly serialised.

    References must come from scanning this very `text` and must not overlap.
    A quoted token stays quoted with its quote character; an unquoted url()
    becomes `url("...")` only when the new URL needs it (spaces, quotes,
    parentheses, backslashes, control characters).
    """
    pairs = replacements.items() if isinstance(replacements, Mapping) else replacements
    out, pos = [], 0
    for ref, url in sorted(pairs, key=lambda pair: pair[0].start):
        if ref.start < pos:
            raise ValueError(f"overlapping references at line {ref.line}")
        out += (text[pos:ref.start], _serialise(text, ref, url))
        pos = ref.end
    out.append(text[pos:])
    return "".join(out)
