"""Module specifiers and script URLs in JavaScript, found on the token stream.

Kinds of Reference found (their strings are what a rewrite replaces):

- "module":     `import ... from "x"`, `import "x"`, `export ... from "x"`
- "dynamic":    `import("x")` with one plain string literal (`import(name)`
                and template literals are left alone: no file to name)
- "module-url": `new URL("x", import.meta.url)` and `importScripts("x", ...)`,
                resolved against the script's own URL
- "worker":     `new Worker("x")` / `new SharedWorker("x")`: a relative URL
                here is resolved against the *page*, not the script, so only
                a root-relative one names a file the build knows

`navigator.serviceWorker.register("sw.js")` is deliberately not a
reference: a service worker must keep a stable URL.  A specifier spelled
with an escape (`"\\x2e/a.js"`) is left alone.  Tokens inside comments,
strings, template literals and regular expressions are never looked at,
because the tokenizer (`assetpipe.js_tokens`) never produces them as names.
"""
from __future__ import annotations

import collections
import re

from assetpipe.js_tokens import Tokens, tokenize
from assetpipe.references import Reference

# A file with none of these shapes has no references, and the tokenizer
# (the costly part) is skipped: most classic scripts say "export" or
# "import" somewhere, few say `from "`, `import(` + a quote, `new Worker(`...
_GAP = r"(?:\s|/\*[\s\S]*?\*/)*"
_TRIGGER = re.compile(
    rf"\b(?:from|import){_GAP}[\"']|\bimport{_GAP}\({_GAP}[\"']"
    rf"|\bnew{_GAP}(?:URL|Worker|SharedWorker){_GAP}\(|\bimportScripts{_GAP}\(")
_META_URL = ("import", ".", "meta", ".", "url")
_MEMBER = (".", "?.")
_LOOKAHEAD = 400  # tokens an import/export clause may span before `from`
_MARGIN = 4096    # characters lexed past the last candidate


def scan_js_modules(text: str, module: bool = False) -> list[Reference]:
    """Every module specifier and script URL in `text`, in text order."""
    tail = collections.deque(_TRIGGER.finditer(text), maxlen=1)  # keeps only the last match
    if not tail:
        return []
    last = tail[0]
    # Tokens past the last candidate are not needed (the costly part on a
    # big classic script whose only "from '" sits in a comment near the top);
    # the margin covers what follows a candidate (`, import.meta.url)`).
    tokens = tokenize(text, module, end=last.end() + _MARGIN)
    found: list[tuple[str, int]] = []  # (kind, index of the string token)
    names = {"import": _import, "export": _export, "new": _new, "importScripts": _import_scripts}
    kinds, n = tokens.kinds, len(tokens.kinds)
    for i in range(n):
        if kinds[i] != "name":
            continue
        handler = names.get(tokens.value(i))
        if handler and not (i and tokens.value(i - 1) in _MEMBER):
            found.extend(handler(tokens, i))
    return _references(tokens, sorted(found, key=lambda hit: hit[1]))


def is_module(text: str) -> bool:
    """Does this script use module syntax (import/export declarations)?"""
    if not re.search(r"\b(?:import|export)\b", text):
        return False
    tokens = tokenize(text, module=True)
    for i, kind in enumerate(tokens.kinds):
        if kind != "name" or (i and tokens.value(i - 1) in _MEMBER):
            continue
        word, after = tokens.value(i), _value(tokens, i + 1)
        if word == "export" or (word == "import" and after not in ("(", ".")):
            return True
    return False


def _value(tokens: Tokens, i: int) -> str:
    return tokens.value(i) if i < len(tokens.kinds) else ""


def _is_string(tokens: Tokens, i: int) -> bool:
    return i < len(tokens.kinds) and tokens.kinds[i] == "str"


def _import(tokens: Tokens, i: int) -> list[tuple[str, int]]:
    nxt = _value(tokens, i + 1)
    if nxt == "(":
        if _is_string(tokens, i + 2) and _value(tokens, i + 3) in (")", ","):
            return [("dynamic", i + 2)]
        return []
    if nxt == "." or not nxt:
        return []  # import.meta
    if _is_string(tokens, i + 1):
        return [("module", i + 1)]
    return _from_clause(tokens, i + 1)


def _export(tokens: Tokens, i: int) -> list[tuple[str, int]]:
    if _value(tokens, i + 1) not in ("*", "{"):
        return []  # export const / function / default: no specifier
    return _from_clause(tokens, i + 1)


def _from_clause(tokens: Tokens, j: int) -> list[tuple[str, int]]:
    """The string after `from` ending an import/export clause that starts at j."""
    for k in range(j, min(j + _LOOKAHEAD, len(tokens.kinds) - 1)):
        word = tokens.value(k)
        if word == "from" and tokens.kinds[k] == "name" and _is_string(tokens, k + 1):
            return [("module", k + 1)]
        if word in (";", "(", "=") or (tokens.kinds[k] == "str" and k > j
                                       and tokens.value(k - 1) != "as"
                                       and tokens.value(k + 1) != "as"):
            return []
    return []


def _new(tokens: Tokens, i: int) -> list[tuple[str, int]]:
    callee = _value(tokens, i + 1)
    if _value(tokens, i + 2) != "(" or not _is_string(tokens, i + 3):
        return []
    if callee == "URL" and _value(tokens, i + 4) == ",":
        if tuple(_value(tokens, k) for k in range(i + 5, i + 10)) == _META_URL:
            return [("module-url", i + 3)]
    elif callee in ("Worker", "SharedWorker") and _value(tokens, i + 4) in (")", ","):
        return [("worker", i + 3)]
    return []


def _import_scripts(tokens: Tokens, i: int) -> list[tuple[str, int]]:
    if _value(tokens, i + 1) != "(":
        return []
    hits, k = [], i + 2
    while _is_string(tokens, k) and _value(tokens, k + 1) in (",", ")"):
        hits.append(("module-url", k))
        if _value(tokens, k + 1) == ")":
            return hits
        k += 2
    return hits if _value(tokens, k) == ")" else []


def _references(tokens: Tokens, hits: list[tuple[str, int]]) -> list[Reference]:
    """References for plain string tokens (no escapes), with 1-based lines."""
    text, out, line, pos = tokens.text, [], 1, 0
    for kind, k in hits:
        start, end = tokens.starts[k], tokens.ends[k]
        value = text[start + 1:end - 1]
        if "\\" in value:
            continue
        chunk = text[pos:start]
        line += (chunk.count("\n") + chunk.count("\r") - chunk.count("\r\n")
                 + chunk.count("\u2028") + chunk.count("\u2029"))
        pos = start
        out.append(Reference(kind, value, start, end, line))
    return out
