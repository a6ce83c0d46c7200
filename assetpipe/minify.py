"""Minify and join JS/CSS text (pure: str in, str out).

rjsmin/rcssmin use their C speedups when built.  `/*! ... */` licence
comments are kept; ordinary comments (and with them sourceMappingURL
comments, whose maps no longer match) go.
"""
from __future__ import annotations

import re

import rcssmin
import rjsmin

from assetpipe.jstemplates import protect_templates, restore_templates

# ASI can't merge statements across this: a newline ends a trailing `//`
# comment and the `;` ends a statement left open (`a()` + `(function(){})()`).
JS_SEPARATOR = "\n;\n"

CHARSET_RE = re.compile(r'^\ufeff?@charset\s+["\'][^"\']*["\']\s*;\s*', re.IGNORECASE)


def is_preminified(logical_path: str) -> bool:
    return ".min." in logical_path.rsplit("/", 1)[-1]


def minify_js(text: str) -> str:
    shielded, templates = protect_templates(text)
    return restore_templates(rjsmin.jsmin(shielded, keep_bang_comments=True), templates)


def minify_css(text: str) -> str:
    return rcssmin.cssmin(text, keep_bang_comments=True)


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
