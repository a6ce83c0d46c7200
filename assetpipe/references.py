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
preprocessing), so `rewrite` can splice replacements back in one pass.
`rewrite` takes the Reference objects themselves (a mapping or pairs), not
bare start offsets: a token's end and form are needed to replace it.  The
tokenizer pieces live in `assetpipe.css_tokens`; the URL helpers (`is_local`,
`is_root_relative`, `split_url`, `resolve`, `relative_url`, `rebase`) in
`assetpipe.urlpaths`, re-exported here so the graph needs one import.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from assetpipe.css_tokens import (
    NAME_CHAR,
    consume_name,
    consume_string,
    consume_url,
    serialise_string,
    serialise_url,
    skip_whitespace_and_comments,
    valid_escape,
)
from assetpipe.urlpaths import (  # re-exported: one import for the graph
    is_local,
    is_root_relative,
    rebase,
    relative_url,
    resolve,
    split_url,
)

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


# Where a token we care about may start.  Function names are checked when
# their `(` is reached (a plain character class is several times faster to
# search than an alternation); names holding escapes are consumed whole by the
# backslash branch, so a `(` reached here follows a plain name.
_NEXT = re.compile(r"[/\"'\\@(]")
_NEXT_IN_SET = re.compile(r"[/\"'\\@()]")
_SET_FUNCTIONS = ("image-set", "-webkit-image-set")
_FUNCTIONS = ("url",) + _SET_FUNCTIONS
# The comment body of `/*# sourceMappingURL=x */`: the URL must be all of it.
_CSS_SOURCEMAP = re.compile(r"[#@][ \t]*sourceMappingURL=(\S*?)\s*(?:\*/|\Z)")

_Hit = tuple[str, int, int]  # decoded URL, start and end of its token


def _comment(text: str, start: int) -> tuple[_Hit | None, int]:
    """Skip the comment opening at start; a sourceMappingURL one is a hit."""
    end = text.find("*/", start + 2)
    end = len(text) if end < 0 else end + 2
    sm = _CSS_SOURCEMAP.match(text, start + 2, end)
    return ((sm[1], sm.start(1), sm.end(1)) if sm and sm[1] else None), end


def _import(text: str, i: int) -> tuple[_Hit | None, int]:
    """After `@import` (ending at i): the string or url() that follows."""
    k = skip_whitespace_and_comments(text, i)
    if text[k:k + 1] in ("'", '"'):
        value, end = consume_string(text, k)
        return ((value, k, end) if value is not None else None), end
    name, j = consume_name(text, k)
    if name.lower() == "url" and text[j:j + 1] == "(":
        return consume_url(text, k, j + 1)
    return None, k


def _extends_name(text: str, start: int) -> bool:
    """Does the character before `start` make a name starting there something
    else: a longer name (`foourl(`), a hash token (`#url(`) or an at-keyword?"""
    return start > 0 and (text[start - 1] in "#@" or NAME_CHAR.match(text[start - 1]) is not None)


def _plain_function(text: str, paren: int) -> tuple[str, int]:
    """(name, start) of the function we care about whose `(` is at paren, else
    ("", paren); any escape in a name was consumed by the backslash branch."""
    for name in _FUNCTIONS:
        start = paren - len(name)
        if start >= 0 and text[start:paren].lower() == name and not _extends_name(text, start):
            return name, start
    return "", paren


def _escaped_function(text: str, backslash: int) -> tuple[str | None, int, int]:
    """(lower-case name, start, index after `(`) of a function whose name
    holds the escape at `backslash`; name None if it is no function token."""
    start = backslash
    while start > 0 and NAME_CHAR.match(text[start - 1]):
        start -= 1  # plain name code points before the escape
    name, end = consume_name(text, start)
    if text[end:end + 1] != "(" or _extends_name(text, start):
        return None, start, end
    return name.lower(), start, end + 1


def scan_css(text: str) -> list[Reference]:
    """All references in a stylesheet, in text order."""
    found: list[tuple[str, str, int, int]] = []  # kind, url, start, end
    depth = 0  # paren depth inside image-set(); its strings at depth 1 are URLs
    i = 0
    while m := (_NEXT_IN_SET if depth else _NEXT).search(text, i):
        s = m.start()
        c, i, name, kind, hit = text[s], s + 1, None, "url", None
        if c == "/":
            if text.startswith("*", i):
                kind, (hit, i) = "sourcemap", _comment(text, s)
        elif c in "\"'":
            value, i = consume_string(text, s)
            if depth == 1 and value is not None:
                hit = (value, s, i)
        elif c == ")":
            depth -= 1
        elif c == "@":
            at_name, i = consume_name(text, i)
            if at_name.lower() == "import":
                kind, (hit, i) = "import", _import(text, i)
        elif c == "(":
            name, s = _plain_function(text, s)
        elif valid_escape(text, s):
            name, s, i = _escaped_function(text, s)
        if name == "url":
            hit, i = consume_url(text, s, i)
        elif name is not None and (depth or name in _SET_FUNCTIONS):
            depth += 1  # inside image-set() every parenthesis nests
        if hit:
            found.append((kind, *hit))
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
            trailing = _after_code(text, start, body)
            if trailing:
                found.append(trailing)
            break
    return found[::-1]


_JS_SOURCEMAP_AFTER_CODE = re.compile(r"//[#@][ \t]*sourceMappingURL=(\S+?)[ \t]*\Z")


def _after_code(text: str, start: int, body: str) -> Reference | None:
    """`var fun;//# sourceMappingURL=lib.min.js.map`: the comment after code on
    the last code line, common in shipped `*.min.js`.  Such a line can hold
    the same characters inside a string or regex, so only here is the
    tokenizer asked whether the `//` really opens a comment (no token spans it)."""
    sm = _JS_SOURCEMAP_AFTER_CODE.search(body)
    if sm is None:
        return None
    from bisect import bisect_right

    from assetpipe.js_tokens import tokenize
    at = start + sm.start()
    tokens = tokenize(text, module=False)
    i = bisect_right(tokens.starts, at) - 1
    if i >= 0 and tokens.ends[i] > at:
        return None   # inside a string, regex or template literal
    return Reference("sourcemap", sm[1], start + sm.start(1), start + sm.end(1),
                     _js_line_number(text, start))


# --- Rewriting ----------------------------------------------------------------

_COMMENT_UNSAFE = re.compile(r"[\s*]")


def _serialise(text: str, ref: Reference, url: str) -> str:
    """The new token for `ref`, in the same form (and quote) as the old one."""
    if ref.kind == "sourcemap":  # inside a comment: no whitespace, no `*/`
        return _COMMENT_UNSAFE.sub(lambda m: f"%{ord(m.group()):02X}", url)
    first = text[ref.start]
    if first in "\"'":
        return serialise_string(url, first)
    inner = text[text.index("(", ref.start) + 1:ref.end].lstrip(" \t\n\r\f")
    return serialise_url(url, inner[:1] if inner[:1] in ("'", '"') else None)


def rewrite(text: str,
            replacements: Mapping[Reference, str] | Iterable[tuple[Reference, str]]) -> str:
    """Replace each reference's token with a new URL, correctly serialised.

    References must come from scanning this very `text` and must not overlap.
    A quoted token stays quoted with its quote character; an unquoted url()
    becomes `url("...")` only when the new URL needs it (spaces, quotes,
    parentheses, backslashes, control characters).
    """
    pairs = replacements.items() if isinstance(replacements, Mapping) else replacements
    out: list[str] = []
    pos = 0
    for ref, url in sorted(pairs, key=lambda pair: pair[0].start):
        if ref.start < pos:
            raise ValueError(f"overlapping references at line {ref.line}")
        out += (text[pos:ref.start], _serialise(text, ref, url))
        pos = ref.end
    out.append(text[pos:])
    return "".join(out)
