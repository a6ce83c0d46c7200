"""Minify and join JS/CSS text (pure: str in, str out).

rjsmin/rcssmin use their C speedups when built.  `/*! ... */` licence
comments are kept; ordinary comments (and with them sourceMappingURL
comments, whose maps no longer match) go.

Neither minifier parses what it minifies, and both get edge cases wrong
(rjsmin: `a <!--b`, `var \\u0061bc`, a regex after an arrow function's `}`).
So every result is checked before it is published: `checked_js` /
`checked_css` compare the output's token stream with the source's and give
the source back, with the line where they part, when they differ.
"""
from __future__ import annotations

import re

import rcssmin
import rjsmin

from assetpipe import css_stream, js_tokens
from assetpipe.jstemplates import protect_templates, restore_templates

# ASI can't merge statements across this: a newline ends a trailing `//`
# comment and the `;` ends a statement left open (`a()` + `(function(){})()`).
JS_SEPARATOR = "\n;\n"

CHARSET_RE = re.compile(r'^\ufeff?@charset\s+["\'][^"\']*["\']\s*;\s*', re.IGNORECASE)


def is_preminified(logical_path: str) -> bool:
    return ".min." in logical_path.rsplit("/", 1)[-1]


def minify_js(text: str, tokens: js_tokens.Tokens | None = None) -> str:
    """rjsmin's output; `tokens` of `text` spare the template shield a pass."""
    if text.startswith("#!"):  # rjsmin glues the next line onto a hashbang line
        hashbang, _, rest = text.partition("\n")
        return hashbang + "\n" + minify_js(rest)
    shielded, templates = protect_templates(text, tokens)
    return restore_templates(rjsmin.jsmin(shielded, keep_bang_comments=True), templates)


def minify_css(text: str) -> str:
    return rcssmin.cssmin(text, keep_bang_comments=True)


def checked_js(text: str, module: bool = False,
               keep: list | None = None) -> tuple[str, int | None]:
    """(minified text, None), or (text, source line) if minifying changed a
    token.  `keep` receives the token lists of the text and of the result
    (what a source map pairs: sourcemap_js)."""
    tokens = js_tokens.tokenize(text, module)  # once, for the shield and the check
    out = minify_js(text, tokens)
    out_tokens = js_tokens.tokenize(out, module)
    line = js_tokens.differs(tokens, out_tokens)
    if keep is not None:
        keep.append((tokens, tokens if line is not None else out_tokens))
    return (text, line) if line is not None else (out, None)


def checked_css(text: str) -> tuple[str, int | None]:
    out = minify_css(text)
    line = css_stream.first_difference(text, out)
    return (text, line) if line is not None else (out, None)


def join_js(parts: list[str]) -> str:
    return JS_SEPARATOR.join(p.strip() for p in parts) + "\n"


def join_css(parts: list[str]) -> str:
    """Concatenate CSS, hoisting at most one @charset to the top.

    A @charset anywhere but byte 0 is invalid, and every member is UTF-8
    (decoded by the build), so one `@charset "UTF-8";` covers the bundle.
    """
    had_charset = False
    body = []
    for part in parts:
        stripped = CHARSET_RE.sub("", part, count=1)
        had_charset = had_charset or len(stripped) != len(part)
        body.append(stripped.strip())
    text = "\n".join(body) + "\n"
    return '@charset "UTF-8";\n' + text if had_charset else text
