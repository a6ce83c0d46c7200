"""Shield JS template literals from rjsmin, which does not understand nesting.

rjsmin 1.3 treats `...` as a flat string, so in `a ${b ? `, ${c}` : ""}`
the inner template is read as code and its spaces are squeezed — a changed
program, not a smaller one (seen in d3's rgb formatter).  Before minifying,
each outermost template literal is swapped for a unique string placeholder
(a primary expression, so rjsmin spaces it the same way) and put back after.

The lexer only needs to find template spans: it skips comments, strings and
regular expressions, telling a regex from a division by the token before the
slash (the usual rule: after a value — name, number, `)`, `]`, `}` — it's a
division; after an operator or a keyword such as `return` it's a regex).
"""
from __future__ import annotations

import re

_WORD = re.compile(r"[\w$\u0080-\uffff]+")
_REGEX_AFTER = frozenset({"return", "typeof", "instanceof", "in", "of", "new", "delete",
                          "void", "throw", "case", "do", "else", "yield", "await"})


def protect_templates(text: str) -> tuple[str, dict[str, str]]:
    """(text with placeholders, placeholder -> original template literal)."""
    if "${" not in text:  # no substitution, no nesting: rjsmin copes (and it's ~99% of files)
        return text, {}
    spans = _outer_templates(text)
    nonce = 0
    while f"__assetpipe_tpl{nonce}_" in text:
        nonce += 1
    out: list[str] = []
    saved: dict[str, str] = {}
    pos = 0
    for k, (start, end) in enumerate(spans):
        key = f'"__assetpipe_tpl{nonce}_{k}__"'
        saved[key] = text[start:end]
        out += (text[pos:start], key)
        pos = end
    out.append(text[pos:])
    return "".join(out), saved


def restore_templates(text: str, saved: dict[str, str]) -> str:
    if not saved:
        return text
    return re.sub(r'"__assetpipe_tpl\d+_\d+__"', lambda m: saved.get(m[0], m[0]), text)


def _outer_templates(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    _scan(text, 0, spans, nested=False)
    return spans


def _scan(text: str, i: int, spans: list | None, nested: bool) -> int:
    """Lex code from i; record outermost template spans; inside `${`, stop
    after the `}` that closes it and return the index after it."""
    n, depth, after_value = len(text), 0, False
    while i < n:
        c = text[i]
        if c in " \t\r\n\f\v\u00a0\ufeff\u2028\u2029":
            i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif c in "\"'":
            i, after_value = _skip_string(text, i), True
        elif c == "`":
            end = _skip_template(text, i)
            if spans is not None:
                spans.append((i, end))
            i, after_value = end, True
        elif c == "/" and not after_value:
            i, after_value = _skip_regex(text, i), True
        elif m := _WORD.match(text, i):
            i, after_value = m.end(), m[0] not in _REGEX_AFTER
        elif c == "{":
            depth, i, after_value = depth + 1, i + 1, False
        elif c == "}":
            if nested and depth == 0:
                return i + 1
            depth, i, after_value = depth - 1, i + 1, True
        else:
            i, after_value = i + 1, c in ")]"
    return n


def _skip_string(text: str, i: int) -> int:
    quote, j, n = text[i], i + 1, len(text)
    while j < n and text[j] != quote and text[j] != "\n":
        j += 2 if text[j] == "\\" else 1
    return j + 1


def _skip_template(text: str, i: int) -> int:
    j, n = i + 1, len(text)
    while j < n:
        if text[j] == "\\":
            j += 2
        elif text[j] == "`":
            return j + 1
        elif text.startswith("${", j):
            j = _scan(text, j + 2, None, nested=True)
        else:
            j += 1
    return n


def _skip_regex(text: str, i: int) -> int:
    j, n, in_class = i + 1, len(text), False
    while j < n:
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == "\n":
            return i + 1  # no regex ends on another line: it was a division after all
        if c == "[":
            in_class = True
        elif c == "]":
            in_class = False
        elif c == "/" and not in_class:
            m = _WORD.match(text, j + 1)
            return m.end() if m else j + 1
        j += 1
    return i + 1
