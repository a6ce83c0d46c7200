"""The token stream of a stylesheet, as a CSS minifier must keep it.

Comments go; whitespace runs become one " " token, kept only where it can
matter: between two tokens neither of which is a delimiter that makes
spacing irrelevant (`{ } ; : , > ( ) [ ] ! ~ =`; so `a :hover` -> `a:hover`
would go unnoticed: a known limit, rcssmin keeps that space).  So `a b` -> `ab` or
`calc(1px + 2px)` -> `calc(1px+2px)` (where `+2px` becomes one signed
number) show up as a different stream, while `a { x : y }` -> `a{x:y}` does
not; nor does dropping the optional `;` before `}`.  Tokens follow CSS
Syntax 3 closely enough for that: strings, signed numbers with units,
names with escapes, `url(...)` with its inner
whitespace trimmed (minifiers trim it; it is not part of the URL).
"""
from __future__ import annotations

import re

_TOKEN = re.compile(r"""
  (?P<comment>/\*[\s\S]*?(?:\*/|\Z))
| (?P<ws>[ \t\n\r\f]+)
| (?P<str>"(?:[^"\\\n]|\\[\s\S])*"?|'(?:[^'\\\n]|\\[\s\S])*'?)
| (?P<url>url\([ \t\n\r\f]*[^"'()\s]*[ \t\n\r\f]*\))
| (?P<num>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?
         (?:%|-?(?:[A-Za-z_\u0080-\uffff]|\\.)(?:[\w\-\u0080-\uffff]|\\.)*)?)
| (?P<name>[@#]?-{0,2}(?:[A-Za-z_\u0080-\uffff]|\\[^\n])(?:[\w\-\u0080-\uffff]|\\[^\n])*\(?)
| (?P<other>[\s\S])
""", re.VERBOSE | re.IGNORECASE)
_URL_INNER = re.compile(r"url\([ \t\n\r\f]*([\s\S]*?)[ \t\n\r\f]*\)", re.IGNORECASE)
_NO_SPACE_NEEDED = frozenset("{};:,>()[]!~=")


def stream(text: str) -> tuple[list[str], list[int]]:
    """(tokens, start offsets) with comments dropped and spacing normalised."""
    tokens: list[str] = []
    starts: list[int] = []
    pending_space = False
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind == "comment":
            continue
        if kind == "ws":
            pending_space = True
            continue
        value = m[0]
        if kind == "url":
            value = _URL_INNER.sub(r"url(\1)", value)
        if (pending_space and tokens and tokens[-1] not in _NO_SPACE_NEEDED
                and not tokens[-1].endswith("(") and value not in _NO_SPACE_NEEDED):
            tokens.append(" ")
            starts.append(m.start())
        pending_space = False
        if value in ";}":  # `;` before `}`, or repeated, is optional: minifiers drop it
            while tokens and tokens[-1] == ";":
                tokens.pop()
                starts.pop()
        tokens.append(value)
        starts.append(m.start())
    return tokens, starts


def first_difference(source: str, output: str) -> int | None:
    """None when `output` has the stream of `source`; else the source line
    where they first differ."""
    a, starts = stream(source)
    b, _ = stream(output)
    if a == b:
        return None
    i = next((k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    pos = starts[i] if i < len(starts) else len(source)
    return source.count("\n", 0, pos) + 1
