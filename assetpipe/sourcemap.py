"""Exact Source Map v3 for minified CSS and CSS bundles (pure: text in, JSON out).

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
import functools
import json
import posixpath
import re
from bisect import bisect_right
from dataclasses import dataclass

from assetpipe.minify import CHARSET_RE

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# Where a mapping segment starts: strings, comments, an unquoted url(), a
# name/number run, or one other character (the test checks each against
# the source); `url("x")` is a name, "(" and a string.
TOKEN_RE = re.compile(r'"(?:[^"\\\n]|\\.)*"?|\'(?:[^\'\\\n]|\\.)*\'?|/\*.*?(?:\*/|\Z)'
                      r'|url\((?![ \t\n\r\f]*["\'])[^)]*\)?|[\w\-\\\u0080-\U0010ffff]+|\S',
                      re.S | re.I)
_SPACE = " \t\n\r\f"
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


class AlignError(Exception):
    """The output is not the input minus what the minifier may drop."""


@dataclass(frozen=True)
class Piece:
    """One source's part of an output."""

    source: str      # logical path
    original: str    # the text as written (decoded)
    rewritten: str   # after reference rewriting: the minifier's input
    final: str       # the minifier's output (== rewritten when not minified)


def css_sourcemap(out_logical: str, output: str, pieces: list[Piece]) -> bytes:
    """The map of `output` (one file, or a bundle joined by minify.join_css).
    Raises AlignError when a piece cannot be aligned exactly."""
    segments: list[tuple[int, int, int]] = []   # (output offset, source index, source offset)
    pos = 0
    for index, piece in enumerate(pieces):
        body = CHARSET_RE.sub("", piece.final, count=1) if len(pieces) > 1 else piece.final
        text = body.strip() if len(pieces) > 1 else body
        skip = len(piece.final) - len(body) + (len(body) - len(body.lstrip())
                                               if len(pieces) > 1 else 0)
        start = output.find(text, pos)
        if start < 0:
            raise AlignError(f"{piece.source}: not found in the output")
        to_rewritten = align(piece.final, piece.rewritten)
        to_original = _rewrite_map(piece.rewritten, piece.original)
        for m in TOKEN_RE.finditer(text):
            segments.append((start + m.start(), index,
                             to_original(to_rewritten[skip + m.start()])))
        pos = start + len(text)
    return _render(out_logical, output, pieces, segments)


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
    r_starts, o_starts = _line_starts(rewritten), _line_starts(original)
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


def _render(out_logical: str, output: str, pieces: list[Piece],
            segments: list[tuple[int, int, int]]) -> bytes:
    out_lines = _line_starts(output)
    src_lines = [_line_starts(p.original) for p in pieces]
    out_col = _utf16_column(output, out_lines)
    src_cols = [_utf16_column(p.original, starts)
                for p, starts in zip(pieces, src_lines, strict=True)]
    folder = posixpath.dirname(out_logical) or "."
    lines: list[list[str]] = [[] for _ in out_lines]
    # Deltas from the previous segment (the generated column restarts per line).
    p_col = p_source = p_line = p_src_col = 0
    last_line = -1
    for offset, source, src_offset in segments:
        line, col = out_col(*_line_col(out_lines, offset))
        if line != last_line:
            p_col, last_line = 0, line
        s_line, s_col = src_cols[source](*_line_col(src_lines[source], src_offset))
        lines[line].append(_vlq(col - p_col) + _vlq(source - p_source)
                           + _vlq(s_line - p_line) + _vlq(s_col - p_src_col))
        p_col, p_source, p_line, p_src_col = col, source, s_line, s_col
    doc = {"version": 3, "file": posixpath.basename(out_logical),
           "sources": [posixpath.relpath(p.source, folder) for p in pieces],
           "sourcesContent": [p.original for p in pieces], "names": [],
           "mappings": ";".join(",".join(segs) for segs in lines)}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _line_starts(text: str) -> list[int]:
    return [0] + [m.end() for m in re.finditer(r"\r\n|[\n\r\f]", text)]


def _line_col(starts: list[int], offset: int) -> tuple[int, int]:
    if len(starts) == 1:  # minified output: one line
        return 0, offset
    line = bisect_right(starts, offset) - 1
    return line, offset - starts[line]


def _utf16_column(text: str, starts: list[int]):
    """Columns count UTF-16 code units (as browsers read maps): a character
    outside the BMP counts twice.  Identity for the (usual) text without one."""
    if not _ASTRAL.search(text):
        return lambda line, col: (line, col)

    def convert(line: int, col: int) -> tuple[int, int]:
        start = starts[line]
        return line, col + len(_ASTRAL.findall(text, start, start + col))
    return convert


@functools.lru_cache(maxsize=8192)  # small deltas repeat: ~1M calls on the corpus
def _vlq(value: int) -> str:
    """Base64 VLQ (Source Map v3): sign in the lowest bit, 5 bits a digit."""
    value = (-value << 1) | 1 if value < 0 else value << 1
    digits = []
    while True:
        digit, value = value & 31, value >> 5
        digits.append(_B64[digit | (32 if value else 0)])
        if not value:
            return "".join(digits)


def comment(map_name: str) -> str:
    """The CSS comment that points at the map (a URL relative to the file)."""
    return f"/*# sourceMappingURL={map_name} */\n"
