"""Exact Source Map v3 for minified CSS/JS and bundles (pure: text in, JSON out).

Neither rcssmin nor rjsmin emits a map, but both keep every token of their
input, in order (the minifier check proves it for JS; sourcemap_css.align
for CSS).  So each output token's offset in its source is knowable: an
aligner per language (sourcemap_css.pairs, sourcemap_js.pairs) gives
(offset in the minified text, offset in the file as written) for every
token, and this module places those in the output, resolves source
positions (through a shipped input map where a `*.min.js` brought one:
sourcemap_js.Composed) and writes the VLQ `mappings`.  An aligner that
cannot account for a token raises AlignError: no map rather than a wrong one.
"""
from __future__ import annotations

import itertools
import json
import operator
import posixpath
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Container
from dataclasses import dataclass, field
from typing import Any

from assetpipe.minify import CHARSET_RE, is_preminified

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_VALUE = {c: i for i, c in enumerate(_B64)}
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
# Line terminators: CSS's (with form feed), JavaScript's (with U+2028/9).
_LINE_BREAK = {True: re.compile(r"\r\n|[\n\r\f]"), False: re.compile("\r\n|[\n\r\u2028\u2029]")}
# An aligner's result: (offsets in the minified text, offsets in the file as
# written), one pair per token.  Columns, not tuples: millions on the corpus.
Pairs = tuple[list[int], list[int]]


class AlignError(Exception):
    """The output is not the input minus what the minifier may drop."""


@dataclass(frozen=True)
class Piece:
    """One source's part of an output."""

    source: str      # logical path
    original: str    # the text as written (decoded)
    rewritten: str   # after reference rewriting: the minifier's input
    final: str       # the minifier's output (== rewritten when not minified)
    tokens: Any = None  # JS: (js_tokens of rewritten, of final) when the minifier check ran


class Sources:
    """The map's `sources` / `sourcesContent`, each listed once, in first-use order."""

    def __init__(self, folder: str):
        self.folder = folder
        self.names: list[str] = []
        self.contents: list[str | None] = []
        self._index: dict[str, int] = {}

    def add(self, name: str, content: str | None, logical: bool = True) -> int:
        """Index of source `name` (a logical path, made relative to the map's
        folder; else a URL from an input map, kept as it is)."""
        if logical:
            name = posixpath.relpath(name, self.folder)
        if name not in self._index:
            self._index[name] = len(self.names)
            self.names.append(name)
            self.contents.append(content)
        return self._index[name]


@dataclass
class Segments:
    """The map's segments as columns: output offset, source index, source
    line, source column (0-based; columns in UTF-16 code units)."""

    out: list[int] = field(default_factory=list)
    source: list[int] = field(default_factory=list)
    line: list[int] = field(default_factory=list)
    col: list[int] = field(default_factory=list)

    def extend(self, other: Segments) -> None:
        self.out += other.out
        self.source += other.source
        self.line += other.line
        self.col += other.col


# How a piece's source offsets become segments: (output offset base, pairs) ->
# segments; the plain one is below, a shipped input map's is sourcemap_js.Composed.
Resolver = Callable[[int, Pairs], Segments]


def source_map(out_logical: str, output: str, pieces: list[Piece],
               paths: dict[str, str] | None = None, warnings: list[str] | None = None,
               linked: Container[str] = ()) -> bytes:
    """The map of `output` (one file, or a bundle joined by minify.join_css /
    join_js).  `paths`: where each piece's file is on disk, to find the map
    a shipped `*.min.js` names, if it is one of `linked` (the output's
    dependencies); problems with it go to `warnings`.
    Raises AlignError when a piece cannot be aligned."""
    from assetpipe import sourcemap_css, sourcemap_js
    css = out_logical.endswith(".css")
    aligner = sourcemap_css.pairs if css else sourcemap_js.pairs
    sources = Sources(posixpath.dirname(out_logical) or ".")
    segments = Segments()
    pos = 0
    for piece in pieces:
        text, skip = _in_output(piece.final, len(pieces) > 1, css)
        start = output.find(text, pos)
        if start < 0:
            raise AlignError(f"{piece.source}: not found in the output")
        resolve = _resolver(out_logical, sources, piece, (paths or {}).get(piece.source),
                            linked, warnings)
        segments.extend(resolve(start - skip, aligner(piece, skip, text)))
        pos = start + len(text)
    return _render(out_logical, output, sources, segments)


def _in_output(final: str, joined: bool, css: bool) -> tuple[str, int]:
    """The part of a piece's text its output holds, and where it starts in
    it: a bundle strips each member (and its @charset, hoisted by join_css)."""
    if not joined:
        return final, 0
    body = CHARSET_RE.sub("", final, count=1) if css else final
    text = body.strip()
    return text, len(final) - len(body) + len(body) - len(body.lstrip())


def through_input_map(out_logical: str, member: str) -> bool:
    """Whether `member`'s part of the map of `out_logical` is composed through
    the map `member` names (a shipped `*.min.js` in JS): that input map is
    then a dependency of the output, like a reference (plan.plan_links)."""
    return not out_logical.endswith(".css") and is_preminified(member)


def _resolver(out_logical: str, sources: Sources, piece: Piece, path: str | None,
              linked: Container[str], warnings: list[str] | None) -> Resolver:
    """Through the input map of a shipped `*.min.js` that has a usable one;
    else into the piece's own text."""
    if path and through_input_map(out_logical, piece.source):
        from assetpipe.sourcemap_js import input_map_resolver
        composed = input_map_resolver(sources, piece, path, linked,
                                      warnings if warnings is not None else [])
        if composed:
            return composed
    return plain_resolver(sources, piece)


def plain_resolver(sources: Sources, piece: Piece) -> Resolver:
    """Segments pointing into the piece's own text (the file as written)."""
    def resolve(base: int, pairs: Pairs) -> Segments:
        index = sources.add(piece.source, piece.original)
        lines, cols = positions(piece.original, pairs[1], piece.source.endswith(".css"))
        out = [base + offset for offset in pairs[0]] if base else pairs[0]
        return Segments(out, [index] * len(out), lines, cols)
    return resolve


def positions(text: str, offsets: list[int], css: bool) -> tuple[list[int], list[int]]:
    """(lines, columns) of `offsets` in `text` (CSS or JS), 0-based; columns count
    UTF-16 code units (as browsers read maps): a character outside the BMP counts twice."""
    starts = line_starts(text, css)
    if len(starts) == 1:  # minified text: one line
        lines, cols = [0] * len(offsets), list(offsets)
    elif all(map(operator.le, offsets, itertools.islice(offsets, 1, None))):
        # In order (JS always): one step per line, not per offset.
        bounds = [bisect_left(offsets, start) for start in starts] + [len(offsets)]
        lines, line_of = [], []
        for line, (lo, hi) in enumerate(zip(bounds, bounds[1:], strict=False)):
            lines += [line] * (hi - lo)
            line_of += [starts[line]] * (hi - lo)
        cols = list(map(operator.sub, offsets, line_of))
    else:
        lines = [bisect_right(starts, offset) - 1 for offset in offsets]
        cols = [offset - starts[line] for offset, line in zip(offsets, lines, strict=True)]
    if _ASTRAL.search(text):
        cols = [col + len(_ASTRAL.findall(text, starts[line], starts[line] + col))
                for line, col in zip(lines, cols, strict=True)]
    return lines, cols


def line_starts(text: str, css: bool = True) -> list[int]:
    return [0] + [m.end() for m in _LINE_BREAK[css].finditer(text)]


def _render(out_logical: str, output: str, sources: Sources, segments: Segments) -> bytes:
    css = out_logical.endswith(".css")
    out_lines, out_cols = positions(output, segments.out, css)
    # Deltas from the previous segment; the generated column restarts per line.
    d_col = list(_deltas(out_cols))
    # Segments come in output order: where each generated line's run starts.
    breaks = [bisect_left(out_lines, line) for line in sorted(set(out_lines))[1:]]
    for i in breaks:
        d_col[i] = out_cols[i]
    vlq, add = _VLQ.__getitem__, operator.add   # map() over C functions: no Python loop
    encoded = list(map(add, map(add, map(vlq, d_col), map(vlq, _deltas(segments.source))),
                       map(add, map(vlq, _deltas(segments.line)), map(vlq, _deltas(segments.col)))))
    lines = [""] * len(line_starts(output, css))
    for lo, hi in zip([0, *breaks], [*breaks, len(encoded)], strict=True):
        if hi > lo:
            lines[out_lines[lo]] = ",".join(encoded[lo:hi])
    doc = {"version": 3, "file": posixpath.basename(out_logical),
           "sources": sources.names, "sourcesContent": sources.contents, "names": [],
           "mappings": ";".join(lines)}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _deltas(values: list[int]):
    """Each value minus the one before (the first minus 0), lazily."""
    return map(operator.sub, values, itertools.chain((0,), values))


class _VLQTable(dict):
    """value -> its Base64 VLQ, computed once: most deltas are small and repeat."""

    def __missing__(self, value: int) -> str:
        self[value] = digits = _vlq(value)
        return digits


_VLQ = _VLQTable()


def _vlq(value: int) -> str:
    """Base64 VLQ (Source Map v3): sign in the lowest bit, 5 bits a digit."""
    value = (-value << 1) | 1 if value < 0 else value << 1
    digits = []
    while True:
        digit, value = value & 31, value >> 5
        digits.append(_B64[digit | (32 if value else 0)])
        if not value:
            return "".join(digits)


def comment(logical_path: str, map_name: str) -> str:
    """The comment that points at the map (a URL relative to the file)."""
    if logical_path.endswith(".css"):
        return f"/*# sourceMappingURL={map_name} */\n"
    return f"//# sourceMappingURL={map_name}\n"


def decode(mappings: str) -> list[list[tuple[int, ...]]]:
    """The inverse of `_vlq`, for the input maps shipped with *.min.js files:
    Source Map v3 `mappings` -> per generated line, its segments with
    absolute values (column[, source, line, column[, name]])."""
    lines, state = [], [0, 0, 0, 0, 0]
    for line in mappings.split(";"):
        state[0] = 0
        row = []
        for segment in filter(None, line.split(",")):
            values, value, shift = [], 0, 0
            for char in segment:
                digit = _B64_VALUE[char]
                value += (digit & 31) << shift
                shift += 5
                if not digit & 32:
                    values.append(-(value >> 1) if value & 1 else value >> 1)
                    value, shift = 0, 0
            for k, v in enumerate(values):
                state[k] += v
            row.append(tuple(state[:len(values)]))
        lines.append(row)
    return lines
