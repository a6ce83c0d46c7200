"""The JS aligner of sourcemap.source_map, and maps composed through a
shipped input map (pure but for reading that map).

rjsmin drops only whitespace and comments; the minifier check
(minify.checked_js) has just proved that its output has the token stream
of its input.  So output token i *is* input token i, and reference
rewriting (a module specifier renamed, a map comment cut) keeps the token
count and kinds too: token i of the minified text pairs with token i of the
file as written (found through the rewrites: _through_rewrites).  A
template literal is one token here but several in a JavaScript engine
(`` ` ``, text, `${`, `}`): its pieces are copied verbatim, so they get a
segment each at the same relative place.
"""
from __future__ import annotations

import json
import os
import posixpath
from bisect import bisect_left, bisect_right
from collections.abc import Container

from assetpipe import js_tokens
from assetpipe.sourcemap import (
    AlignError,
    Pairs,
    Piece,
    Resolver,
    Segments,
    Sources,
    decode,
    positions,
)


def pairs(piece: Piece, skip: int, text: str) -> Pairs:
    """(offsets in piece.final, offsets in piece.original) of every token."""
    module = piece.source.endswith(".mjs")
    checked, final = piece.tokens or (None, None)
    if final is None:  # no check ran (not minified, or its result came from the cache)
        final = js_tokens.tokenize(piece.final, module)
        checked = final if piece.final == piece.rewritten else None
    source: tuple[list[int], list[int]] | None
    if checked is None or final.kinds != checked.kinds:
        checked = js_tokens.tokenize(piece.original, module)
        source = (checked.starts, checked.ends)
    else:
        source = _through_rewrites(checked, piece.original, module)
    if final.kinds != checked.kinds or source is None:
        raise AlignError(f"{piece.source}: the output's tokens are not the source's")
    if "tpl" not in final.kinds:
        return final.starts, source[0]
    outs: list[int] = []
    srcs: list[int] = []
    last, kinds = 0, final.kinds
    while (i := _next(kinds, "tpl", last)) >= 0:
        outs += final.starts[last:i + 1]
        srcs += source[0][last:i + 1]
        _template_parts(outs, srcs, final, source, i)
        last = i + 1
    return outs + final.starts[last:], srcs + source[0][last:]


def _through_rewrites(tokens: js_tokens.Tokens, original: str,
                      module: bool) -> tuple[list[int], list[int]] | None:
    """(starts, ends) in `original` of the tokens of the rewritten text.
    Rewriting renamed a few strings and cut a map comment: before the first
    difference the texts agree, after the last they agree shifted, and only
    the tokens between are walked (a token of the same text, or a string);
    None if one is not there."""
    text = tokens.text
    if text == original:
        return tokens.starts, tokens.ends
    head = _common_prefix(text, original)
    tail = len(text) - _common_prefix(text[head:][::-1], original[head:][::-1])
    shift = len(original) - len(text)
    lo, hi = bisect_right(tokens.ends, head), bisect_left(tokens.starts, tail)
    starts, ends = tokens.starts[:lo], tokens.ends[:lo]
    pos = ends[-1] if lo else 0
    for i in range(lo, hi):
        start, end = js_tokens.next_token(original, pos, module)
        if tokens.kinds[i] != "str":
            end = start + tokens.ends[i] - tokens.starts[i]
            if original[start:end] != text[tokens.starts[i]:tokens.ends[i]]:
                return None
        elif original[start] not in "'\"":
            return None
        starts.append(start)
        ends.append(pos := end)
    starts += [offset + shift for offset in tokens.starts[hi:]]
    ends += [offset + shift for offset in tokens.ends[hi:]]
    return starts, ends


def _common_prefix(a: str, b: str) -> int:
    """Length of the common prefix (a binary search on slices: C speed)."""
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _next(items: list[str], value: str, start: int) -> int:
    try:
        return items.index(value, start)
    except ValueError:
        return -1


def _template_parts(outs: list[int], srcs: list[int], final: js_tokens.Tokens,
                    source: tuple[list[int], list[int]], i: int) -> None:
    """Segments inside template chunk `i` ("`text${", "}text`", ...): its
    text after the opening character, and its closing `${` or `` ` ``."""
    start, end = final.starts[i], final.ends[i]
    src_start, src_end = source[0][i], source[1][i]
    tail = 2 if final.text.startswith("${", end - 2) and end - 2 > start else 1
    if start + 1 < end - tail:
        outs.append(start + 1)
        srcs.append(src_start + 1)
    if end - tail > start:
        outs.append(end - tail)
        srcs.append(src_end - tail)


class Composed:
    """A resolver (sourcemap.Resolver) through a `*.min.js` file's own map:
    an offset in that file becomes the position its map gives (the segment
    at or before it on its line), in the map's sources; offsets its map
    leaves unmapped get no segment."""

    def __init__(self, sources: Sources, piece: Piece, doc: dict, map_logical: str):
        self.sources, self.piece = sources, piece
        self.lines = [[(seg[0], seg[1:]) for seg in line] for line in decode(doc["mappings"])]
        count = len(doc["sources"])
        if any(len(s) >= 3 and not 0 <= s[0] < count for line in self.lines for _, s in line):
            raise ValueError("a segment names a source the map does not list")
        root = (doc.get("sourceRoot") or "").rstrip("/")
        folder = posixpath.dirname(map_logical)
        contents = doc.get("sourcesContent") or []
        self.index = [self._add(posixpath.join(root, name) if root else name, folder,
                                contents[k] if k < len(contents) else None)
                      for k, name in enumerate(doc["sources"])]

    def _add(self, name: str, folder: str, content: str | None) -> int:
        if "://" in name or name.startswith("/"):  # a URL of the bundler's: as it is
            return self.sources.add(name, content, logical=False)
        return self.sources.add(posixpath.normpath(posixpath.join(folder, name)), content)

    def __call__(self, base: int, found: Pairs) -> Segments:
        lines, cols = positions(self.piece.original, found[1], False)
        segments = Segments()
        for out, line, col in zip(found[0], lines, cols, strict=True):
            row = self.lines[line] if line < len(self.lines) else []
            k = bisect_right(row, (col, (1 << 62,))) - 1
            if k >= 0 and len(row[k][1]) >= 3:
                source, s_line, s_col = row[k][1][:3]
                segments.out.append(base + out)
                segments.source.append(self.index[source])
                segments.line.append(s_line)
                segments.col.append(s_col)
        return segments


def input_map_resolver(sources: Sources, piece: Piece, path: str, linked: Container[str],
                       warnings: list[str]) -> Resolver | None:
    """A resolver through the map a shipped `*.min.js` (at `path` on disk)
    names in its `sourceMappingURL` comment; None, with a warning naming the
    file, when that map is not one of the output's dependencies (`linked`:
    missing, dot-named, outside the source folder) or not a Source Map v3
    (the output then maps to the .min.js itself).  Only a linked map is
    read: the build rebuilds the output when that file changes."""
    from assetpipe.references import resolve, scan_js, split_url
    found = [ref for ref in scan_js(piece.original) if ref.kind == "sourcemap"]
    if not found or found[-1].url.startswith("data:") or "://" in found[-1].url:
        return None
    url_path = split_url(found[-1].url)[0]
    map_logical = resolve(piece.source, url_path) or found[-1].url
    try:
        if map_logical not in linked:
            raise ValueError("not a file of the source folder")
        with open(os.path.join(os.path.dirname(path), *url_path.split("/")), "rb") as f:
            doc = json.loads(f.read())
        if not isinstance(doc, dict) or doc.get("version") != 3 or "sections" in doc:
            raise ValueError("not a flat Source Map v3")
        return Composed(sources, piece, doc, map_logical)
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        warnings.append(f"{piece.source}: its input map {map_logical} is unusable "
                        f"({type(exc).__name__}: {exc}); the map points at the file itself")
        return None
