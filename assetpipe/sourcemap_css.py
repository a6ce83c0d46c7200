"""The CSS aligner of sourcemap.source_map (pure).

rcssmin emits no map, but it only drops comments, whitespace and the
semicolon before a `}`: every other character of its output is a character
of its input, in order.  Walking both texts side by side, skipping only
what the minifier may drop, gives each output character's input offset; a
mismatch anywhere else means our model of the minifier is wrong, and no map
is written rather than a wrong one.  The minifier's input is the source
after reference rewriting (url() targets renamed), so a second step maps
those offsets back to the file as written, line by line.
"""
from __future__ import annotations

import difflib
import re
from bisect import bisect_right

from assetpipe.sourcemap import AlignError, Pairs, Piece, line_starts

# Where a mapping segment starts: strings, comments, an unquoted url(), a
# name/number run, or one other character (the test checks each against
# the source); `url("x")` is a name, "(" and a string.
TOKEN_RE = re.compile(r'"(?:[^"\\\n]|\\.)*"?|\'(?:[^\'\\\n]|\\.)*\'?|/\*.*?(?:\*/|\Z)'
                      r'|url\((?![ \t\n\r\f]*["\'])[^)]*\)?|[\w\-\\\u0080-\U0010ffff]+|\S',
                      re.S | re.I)
_SPACE = " \t\n\r\f"


def pairs(piece: Piece, skip: int, text: str) -> Pairs:
    """(offsets in piece.final, offsets in piece.original) of every token of
    `text` (piece.final from `skip` on): the CSS aligner of sourcemap.source_map."""
    to_rewritten = align(piece.final, piece.rewritten)
    to_original = _rewrite_map(piece.rewritten, piece.original)
    finals = [skip + m.start() for m in TOKEN_RE.finditer(text)]
    return finals, [to_original(to_rewritten[offset]) for offset in finals]


def align(final: str, source: str) -> list[int]:
    """Source offset of every character of `final` (rcssmin's output of `source`)."""
    out, i, n = [], 0, len(source)
    for ch in final:
        if ch in _SPACE:  # a space the minifier kept (or wrote for a dropped comment)
            out.append(min(i, n - 1) if n else 0)
            while i < n and source[i] in _SPACE:
                i += 1
            continue
        while i < n and source[i] != ch:
            if source[i] in _SPACE or source[i] == ";":
                i += 1
            elif source.startswith("/*", i) and not source.startswith("/*!", i):
                end = source.find("*/", i + 2)
                i = n if end < 0 else end + 2
            else:
                raise AlignError(f"offset {i}: {source[i]!r} where the output has {ch!r}")
        if i >= n:
            raise AlignError(f"output character {ch!r} is not in the source")
        out.append(i)
        i += 1
    return out


def _rewrite_map(rewritten: str, original: str):
    """Offset in `rewritten` -> offset in `original`: identical outside the
    url() targets reference rewriting renamed (an offset inside a renamed one
    maps to where the original target starts).  Rewriting keeps the lines,
    so only lines that differ are diffed."""
    if rewritten == original:
        return lambda offset: offset
    r_starts, o_starts = line_starts(rewritten), line_starts(original)
    if len(r_starts) != len(o_starts):  # a comment was cut: diff the whole text
        return _diff_map(rewritten, original)
    per_line: dict[int, object] = {}

    def to_original(offset: int) -> int:
        line, col = _line_col(r_starts, offset)
        r_line = rewritten[r_starts[line]:r_starts[line + 1] if line + 1 < len(r_starts) else None]
        o_line = original[o_starts[line]:o_starts[line + 1] if line + 1 < len(o_starts) else None]
        if r_line == o_line:
            return o_starts[line] + col
        if line not in per_line:
            per_line[line] = _token_map(r_line, o_line) or _diff_map(r_line, o_line)
        return o_starts[line] + per_line[line](col)  # type: ignore[operator]
    return to_original


def _token_map(a_text: str, b_text: str):
    """Rewriting replaces whole url()/string tokens and keeps the others: token
    i of one line is token i of the other (None if the counts differ)."""
    a_starts = [m.start() for m in TOKEN_RE.finditer(a_text)]
    b_tokens = [(m.start(), m.end()) for m in TOKEN_RE.finditer(b_text)]
    if len(a_starts) != len(b_tokens):
        return None

    def to_b(offset: int) -> int:
        k = bisect_right(a_starts, offset) - 1
        if k < 0:
            return offset
        start, end = b_tokens[k]
        return min(start + offset - a_starts[k], max(start, end - 1))
    return to_b


def _diff_map(a_text: str, b_text: str):
    blocks = [m for m in difflib.SequenceMatcher(None, a_text, b_text, autojunk=False)
              .get_matching_blocks() if m.size]
    starts = [m.a for m in blocks]

    def to_b(offset: int) -> int:
        k = bisect_right(starts, offset) - 1
        if k < 0:
            return 0
        m = blocks[k]
        return m.b + offset - m.a if offset < m.a + m.size else m.b + m.size
    return to_b


def _line_col(starts: list[int], offset: int) -> tuple[int, int]:
    if len(starts) == 1:  # minified output: one line
        return 0, offset
    line = bisect_right(starts, offset) - 1
    return line, offset - starts[line]
