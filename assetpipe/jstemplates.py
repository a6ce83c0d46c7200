"""Shield JS template literals from rjsmin, which does not understand nesting.

rjsmin 1.3 treats `...` as a flat string, so in `a ${b ? `, ${c}` : ""}`
the inner template is read as code and its spaces are squeezed — a changed
program, not a smaller one (seen in d3's rgb formatter).  Before minifying,
each outermost template literal is swapped for a unique string placeholder
(a primary expression, so rjsmin spaces it the same way) and put back after.

Template spans come from the JS tokenizer (`assetpipe.js_tokens`), which
tells a regex from a division, so a backtick in a regex or string is never
taken for a template.
"""
from __future__ import annotations

import re


def protect_templates(text: str, tokens=None) -> tuple[str, dict[str, str]]:
    """(text with placeholders, placeholder -> original template literal);
    `tokens` of `text` when the caller has them already (js_tokens.Tokens)."""
    if "${" not in text:  # no substitution, no nesting: rjsmin copes (and it's ~99% of files)
        return text, {}
    spans = _outer_templates(text, tokens)
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


def _outer_templates(text: str, tokens=None) -> list[tuple[int, int]]:
    """(start, end) of each outermost template literal, found by the JS
    tokenizer (a home-made lexer here once read `if (s) /`/` as a division
    and shielded the wrong span)."""
    from assetpipe.js_tokens import tokenize
    tokens = tokens or tokenize(text)
    spans: list[tuple[int, int]] = []
    depth, start = 0, 0
    for kind, s, e in zip(tokens.kinds, tokens.starts, tokens.ends, strict=True):
        if kind != "tpl":
            continue
        opens = text[s] == "`"            # "`...`" or "`...${"
        closes = text[e - 1] == "`" and (not opens or e - s > 1)  # "`...`" or "}...`"
        if opens:
            if depth == 0:
                start = s
            depth += 1
        if closes:
            depth -= 1
            if depth == 0:
                spans.append((start, e))
    return spans
