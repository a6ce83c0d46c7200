"""A JavaScript tokenizer: where each token starts and ends, and what kind it is.

Used to find module specifiers (`assetpipe.js_references`) and to check a
minifier's output against its source (`assetpipe.minify`).  It follows the
ECMAScript lexical grammar for everything that can hide or change a token:
comments (and, in scripts, the HTML-like `<!--` / `-->` comments), strings,
template literals with nested `${...}`, escaped identifiers, numbers and
regular-expression literals.  A `/` is a regex or a division depending on
the syntax before it; a lexer alone cannot know, so it keeps what the usual
heuristic needs (the js-tokens / sweet.js approach): the previous token, and
for each open `(` and `{` whether it is a condition (`if (...) /re/`) or a
block (`{...} /re/`), as opposed to an expression (`(a) / 2`, `{} / 2`).

One master regex per token keeps the Python loop short: about 1 MB/s.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_LT = "\n\r\u2028\u2029"
_SPACE = " \t\v\f\u00a0\ufeff\u1680\u2000-\u200a\u202f\u205f\u3000"
# Whitespace and comments before a token; in a script (not a module) also
# the HTML-like comments of Annex B: `<!--` anywhere, `-->` first on a line.
_SKIP_MODULE = rf"(?:[{_SPACE}]+|[{_LT}]+|//[^{_LT}]*|/\*[\s\S]*?\*/)*"
_SKIP_SCRIPT = (rf"(?:[{_SPACE}]+|[{_LT}]+(?:[{_SPACE}]*-->[^{_LT}]*)?|//[^{_LT}]*"
                rf"|/\*[\s\S]*?\*/|<!--[^{_LT}]*)*")
_ESC = r"\\u(?:[0-9a-fA-F]{4}|\{[0-9a-fA-F]+\})"
# Name characters as one class (ASCII letters, digits, `$`, `_`, and any
# non-ASCII character but whitespace): a per-character alternation here
# costs the tokenizer most of its time.
_NAME_CHAR = r"[^\x00-\x23\x25-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f\s\ufeff]"
_NAME_START = r"[^\x00-\x23\x25-\x40\x5b-\x5e\x60\x7b-\x7f\s\ufeff]"
_NAME = rf"#?(?:{_NAME_START}|{_ESC})(?:{_NAME_CHAR}+|{_ESC})*"
_NUMBER = (r"0[xX][\da-fA-F_]+n?|0[oO][0-7_]+n?|0[bB][01_]+n?"
           r"|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?n?")
_STRING = "|".join(rf"{q}[^{q}\\{_LT}]*(?:\\(?:\r\n|[\s\S])[^{q}\\{_LT}]*)*{q}" for q in "\"'")
# The regex engine tries alternatives in order: longest first, except the
# commonest punctuators that start no longer one (`.` unless `...` or a
# number).  The brackets the lexer tracks are a group of their own, tried
# early (`bracket`): every other punctuator takes the loop's short path.
_PUNCT = (r"[;,\[\]:~@]|\.(?:\.\.|(?!\d))|>>>=?|>>=?|<<=?|[=!]==?|=>|\*\*=?|&&=?|\|\|=?|\?\?=?"
          r"|\?\.(?!\d)|\+\+|--|[-+*%&|^<>]=?|[?=!]")
_TOKEN = (r"(?:(?P<name>{n})|(?P<bracket>[({{)])|(?P<punct>{p})|(?P<num>{d})|(?P<str>{s})"
          r"|(?P<slash>/=?)|(?P<tpl>`)|(?P<close>\}})|(?P<other>[\s\S])|(?P<end>\Z))")
_BODY = _TOKEN.format(n=_NAME, d=_NUMBER, s=_STRING, p=_PUNCT)
# The skip is atomic: backtracking into it would split a comment into tokens.
_MASTER = {True: re.compile(f"((?>{_SKIP_MODULE})){_BODY}"),
           False: re.compile(f"((?>{_SKIP_SCRIPT})){_BODY}")}
_NEWLINE = re.compile(f"[{_LT}]")
_CLASS = rf"\[(?:[^\]\\{_LT}]|\\[^{_LT}])*\]"
_REGEX = re.compile(rf"/(?![*/])(?:[^/\\\[{_LT}]|\\[^{_LT}]|{_CLASS})+/[\w$]*")
_CHUNK = re.compile(r"(?:[^`\\$]|\\[\s\S]|\$(?!\{))*(?:`|\$\{)?")

# After these words an expression starts, so `/` opens a regex.
KEYWORDS_BEFORE_EXPRESSION = frozenset({
    "return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case",
    "do", "else", "yield", "await", "extends"})
_CONDITION_WORDS = frozenset({"if", "while", "for", "with"})
# A `{` after these starts a block, not an object literal.
_BLOCK_AFTER = frozenset({")", ";", "{", "}", "=>", "else", "do", "try", "finally", ""})


@dataclass(frozen=True)
class Tokens:
    """Parallel lists: kind ("name", "num", "str", "punct", "regex", "tpl" for
    a template chunk, "block-end" for the `}` of a statement block, "other"),
    start and end offsets.  What lies between two tokens is whitespace and
    comments."""
    text: str
    kinds: list[str]
    starts: list[int]
    ends: list[int]

    def value(self, i: int) -> str:
        return self.text[self.starts[i]:self.ends[i]]

    def newline_before(self, i: int) -> bool:
        gap_start = self.ends[i - 1] if i else 0
        return (gap_start < self.starts[i]
                and _NEWLINE.search(self.text, gap_start, self.starts[i]) is not None)

    def line(self, i: int) -> int:
        """1-based line of token i (\\r\\n counts once)."""
        pos = self.starts[i] if i < len(self.starts) else len(self.text)
        head = self.text[:pos]
        return 1 + sum(head.count(c) for c in _LT) - head.count("\r\n")


class _Lexer:
    """The state a `/` or `{` needs: the tokens so far and the open brackets
    ("(", "cond(" after if/while/for/with, "{" block, "=>{" arrow body, "{}"
    object literal, "${" template substitution)."""

    def __init__(self, text: str):
        self.text = text
        self.kinds: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.stack: list[str] = []
        self.closed = ""   # the bracket the last `)` or `}` closed

    def prev(self, back: int = 1) -> tuple[str, str]:
        if len(self.kinds) < back:
            return "", ""
        return self.kinds[-back], self.text[self.starts[-back]:self.ends[-back]]

    def add(self, kind: str, start: int, end: int) -> None:
        self.kinds.append(kind)
        self.starts.append(start)
        self.ends.append(end)

    def open_or_close(self, c: str) -> None:
        kind, prev = self.prev()
        if c == "(":
            cond = prev in _CONDITION_WORDS and self.prev(2)[1] not in (".", "?.")
            self.stack.append("cond(" if cond else "(")
        elif c == "{":
            self.stack.append("=>{" if prev == "=>" else
                              "{" if _starts_block(prev, kind, self.stack) else "{}")
        else:
            self.closed = self.stack.pop() if self.stack else ""

    def regex_allowed(self) -> bool:
        kind, prev = self.prev()
        return _regex_allowed(prev, kind, self.closed, self.prev(2)[1])


_PLAIN = frozenset({"name", "num", "str", "punct", "other"})


def tokenize(text: str, module: bool = False, end: int | None = None) -> Tokens:
    """The tokens of `text` (a module, or a classic script); with `end`, of
    `text[:end]` only (its last tokens may be cut short there)."""
    lexer, master = _Lexer(text), _MASTER[module]
    stop = len(text) if end is None else min(end, len(text))
    pos: int | None = 0
    if text.startswith("#!"):
        line_end = _NEWLINE.search(text)
        pos = line_end.start() if line_end else len(text)
    while pos is not None:
        pos = _lex(lexer, master.finditer(text, pos, stop))
    return Tokens(text, lexer.kinds, lexer.starts, lexer.ends)


def next_token(text: str, pos: int, module: bool = False) -> tuple[int, int]:
    """(start, end) of the token after the whitespace and comments at `pos`;
    exact for names, numbers, strings and punctuators (a `/` or a template
    literal needs the context tokenize() keeps: its end here is not)."""
    m = _MASTER[module].match(text, pos)
    return m.end(1), m.end()  # type: ignore[union-attr]  # the pattern matches "" at the end


def _lex(lx: _Lexer, matches) -> int | None:
    """Add tokens until one after which lexing must restart elsewhere (a
    regex literal, a template chunk): return that position; None at the end.
    Plain tokens take the short path: this loop is the tokenizer's cost."""
    text = lx.text
    add_kind, add_start, add_end = lx.kinds.append, lx.starts.append, lx.ends.append
    for m in matches:
        kind = m.lastgroup
        if kind in _PLAIN:
            add_kind(kind)
            add_start(m.end(1))
            add_end(m.end())
            continue
        start, end = m.end(1), m.end()
        if kind == "bracket":
            lx.open_or_close(text[start])
            lx.add("punct", start, end)
        elif kind == "slash":
            regex = _REGEX.match(text, start) if lx.regex_allowed() else None
            if regex:
                lx.add("regex", start, regex.end())
                return regex.end()
            lx.add(kind, start, end)
        elif kind == "close" and not (lx.stack and lx.stack[-1] == "${"):
            lx.closed = lx.stack.pop() if lx.stack else "{"
            # A statement block needs no `;` after it: no line break after its
            # `}` can matter.  An arrow body's or object's can (ASI).
            lx.add("block-end" if lx.closed == "{" else "punct", start, end)
        elif kind == "end":
            return None
        else:  # a template chunk: "`..." or "}..." after a substitution
            if kind == "close":
                lx.stack.pop()
            end = _CHUNK.match(text, start + 1).end()  # type: ignore[union-attr]  # matches ""
            lx.add("tpl", start, end)
            if text.startswith("${", end - 2) and end - 2 > start:
                lx.stack.append("${")
            return end
    return None


def _regex_allowed(prev: str, prev_kind: str, closed: str, before_prev: str) -> bool:
    """Does a `/` after the token `prev` open a regular expression?"""
    if prev_kind == "":
        return True
    if prev_kind == "name":
        return prev in KEYWORDS_BEFORE_EXPRESSION and before_prev not in (".", "?.")
    if prev_kind in ("num", "str", "regex", "other"):
        return False
    if prev_kind == "tpl":
        return not prev.endswith("`")
    if prev == ")":
        return closed == "cond("
    if prev == "}":
        return closed in ("{", "=>{")
    return prev not in ("]", "++", "--")


def _starts_block(prev: str, prev_kind: str, stack: list[str]) -> bool:
    """Is a `{` after `prev` a block (or function/class body) rather than an
    object literal?  `:` is a label or a `case` in a block, a property in an
    object literal."""
    if prev in _BLOCK_AFTER or (prev_kind == "name" and prev not in KEYWORDS_BEFORE_EXPRESSION):
        return True
    if prev == ":":
        return bool(stack) and stack[-1] == "{"
    return False


def stream(tokens: Tokens) -> list[str]:
    """The token stream as a minifier must keep it: each token's exact text,
    marked with a leading newline where a line break before it can matter
    (automatic semicolon insertion: after a value, before anything but an
    operator that continues the expression)."""
    text, kinds = tokens.text, tokens.kinds
    out = [text[s:e] for s, e in zip(tokens.starts, tokens.ends, strict=True)]
    for i in range(1, len(out)):
        if (tokens.starts[i] > tokens.ends[i - 1] and _ends_value(kinds[i - 1], out[i - 1])
                and not _continues(kinds[i], out[i]) and tokens.newline_before(i)):
            out[i] = "\n" + out[i]
    return out


_CONTINUING = frozenset((
    ".", "?.", ",", ";", ")", "]", "}", ":", "?", "=", "==", "===", "!=", "!==", "<", ">",
    "<=", ">=", "*", "%", "**", "&", "|", "^", "&&", "||", "??", "<<", ">>", ">>>", "+=", "-=",
    "*=", "/=", "%=", "**=", "<<=", ">>=", ">>>=", "&=", "|=", "^=", "&&=", "||=", "??=", "/",
    "=>"))


def _ends_value(kind: str, value: str) -> bool:
    value = value.lstrip("\n")
    if kind == "punct":
        return value in (")", "]", "}", "++", "--")
    if kind == "tpl":
        return value.endswith("`")
    return kind in ("name", "num", "str", "regex")


def _continues(kind: str, value: str) -> bool:
    return (kind in ("punct", "block-end") and value in _CONTINUING) or kind == "slash"


def first_difference(source: str, output: str, module: bool = False) -> int | None:
    """None when `output` has the token stream of `source`; else the source
    line where they first differ."""
    return differs(tokenize(source, module), output, module)


def differs(source: Tokens, output: str | Tokens, module: bool = False) -> int | None:
    """first_difference() for a source (and maybe an output) tokenized already."""
    out = output if isinstance(output, Tokens) else tokenize(output, module)
    sa, sb = stream(source), stream(out)
    if sa == sb:
        return None
    pairs = enumerate(zip(sa, sb, strict=False))
    i = next((k for k, (x, y) in pairs if x != y), min(len(sa), len(sb)))
    return source.line(i)
