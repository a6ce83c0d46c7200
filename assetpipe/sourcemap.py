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

import functools
import json
import posixpath
import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from assetpipe.minify import CHARSET_RE, is_preminified

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
# Line terminators: CSS's (with form feed), JavaScript's (with U+2028/9).
_LINE_BREAK = {True: re.compile(r"\r\n|[\n\r\f]"), False: re.compile("\r\n|[\n\r\u2028\u2029]")}
# (output offset, source index, source line, source column): one segment.
Segment = tuple[int, int, int, int]


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


# How a piece's source offsets become segments: (output offset base, pairs) ->
# segments; the plain one is below, a shipped input map's is sourcemap_js.Composed.
Resolver = Callable[[int, list[tuple[int, int]]], list[Segment]]


def source_map(out_logical: str, output: str, pieces: list[Piece],
               paths: dict[str, str] | None = None, warnings: list[str] | None = None) -> bytes:
    """The map of `output` (one file, or a bundle joined by minify.join_css /
    join_js).  `paths`: where each piece's file is on disk, to find the map
    a shipped `*.min.js` names (problems with it go to `warnings`).
    Raises AlignError when a piece cannot be aligned."""
    from assetpipe import sourcemap_css, sourcemap_js
    css = out_logical.endswith(".css")
    aligner = sourcemap_css.pairs if css else sourcemap_js.pairs
    sources = Sources(posixpath.dirname(out_logical) or ".")
    segments: list[Segment] = []
    pos = 0
    for piece in pieces:
        text, skip = _in_output(piece.final, len(pieces) > 1, css)
        start = output.find(text, pos)
        if start < 0:
            raise AlignError(f"{piece.source}: not found in the output")
        resolve = _resolver(sources, piece, css, (paths or {}).get(piece.source), warnings)
        segments += resolve(start - skip, aligner(piece, skip, text))
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


def _resolver(sources: Sources, piece: Piece, css: bool, path: str | None,
              warnings: list[str] | None) -> Resolver:
    """Through the input map of a shipped `*.min.js` that has a usable one;
    else into the piece's own text."""
    if not css and path and is_preminified(piece.source):
        from assetpipe.sourcemap_js import input_map_resolver
        composed = input_map_resolver(sources, piece, path,
                                      warnings if warnings is not None else [])
        if composed:
            return composed
    return plain_resolver(sources, piece)


def plain_resolver(sources: Sources, piece: Piece) -> Resolver:
    """Segments pointing into the piece's own text (the file as written)."""
    def resolve(base: int, pairs: list[tuple[int, int]]) -> list[Segment]:
        index = sources.add(piece.source, piece.original)
        lines, cols = positions(piece.original, [src for _, src in pairs],
                                piece.source.endswith(".css"))
        return [(base + out, index, line, col)
                for (out, _), line, col in zip(pairs, lines, cols, strict=True)]
    return resolve


def positions(text: str, offsets: list[int], css: bool) -> tuple[list[int], list[int]]:
    """(lines, columns) of `offsets` in `text` (CSS or JS), 0-based; columns count
    UTF-16 code units (as browsers read maps): a character outside the BMP counts twice."""
    starts = line_starts(text, css)
    if len(starts) == 1:  # minified text: one line
        lines, cols = [0] * len(offsets), list(offsets)
    else:
        lines = [bisect_right(starts, offset) - 1 for offset in offsets]
        cols = [offset - starts[line] for offset, line in zip(offsets, lines, strict=True)]
    if _ASTRAL.search(text):
        cols = [col + len(_ASTRAL.findall(text, starts[line], starts[line] + col))
                for line, col in zip(lines, cols, strict=True)]
    return lines, cols


def line_starts(text: str, css: bool = True) -> list[int]:
    return [0] + [m.end() for m in _LINE_BREAK[css].finditer(text)]


def _render(out_logical: str, output: str, sources: Sources, segments: list[Segment]) -> bytes:
    css = out_logical.endswith(".css")
    out_lines, out_cols = positions(output, [seg[0] for seg in segments], css)
    lines: list[list[str]] = [[] for _ in line_starts(output, css)]
    # Deltas from the previous segment (the generated column restarts per line).
    p_col = p_source = p_line = p_src_col = 0
    last_line = -1
    vlq = _vlq
    for line, col, (_, source, s_line, s_col) in zip(out_lines, out_cols, segments, strict=True):
        if line != last_line:
            p_col, last_line = 0, line
        lines[line].append(vlq(col - p_col) + vlq(source - p_source)
                           + vlq(s_line - p_line) + vlq(s_col - p_src_col))
        p_col, p_source, p_line, p_src_col = col, source, s_line, s_col
    doc = {"version": 3, "file": posixpath.basename(out_logical),
           "sources": sources.names, "sourcesContent": sources.contents, "names": [],
           "mappings": ";".join(",".join(segs) for segs in lines)}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@functools.lru_cache(maxsize=8192)  # small deltas repeat: millions of calls on the corpus
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
