"""Content transforms (pure): source bytes -> final bytes, per file or bundle.

Text rule (documented in the README): JS and CSS are read as UTF-8 (a BOM is
dropped).  A single file that is not valid UTF-8 is copied byte-for-byte,
unminified, with a warning naming file:line; a bundle member that is not
valid UTF-8 is an error, because one bundle can't mix encodings.
"""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

from assetpipe import minify
from assetpipe.config import Compress, Images, Minify, Sourcemaps, Versioning
from assetpipe.errors import BuildError
from assetpipe.graph import Memo, RefPolicy, is_js, rewrite_text, scannable
from assetpipe.media_types import extension
from assetpipe.sourcemap import Piece

TOOL_EPOCH = "3"  # bump when a transform changes its output for the same input



@dataclass(frozen=True)
class Settings:
    """The config sections that shape an output's bytes, passed whole; its
    key() is part of every cache key.  The defaults are frozen, so shared."""

    minify: Minify = Minify()
    compress: Compress = Compress()
    images: Images = Images()
    versioning: Versioning = Versioning()
    refs: RefPolicy = RefPolicy()
    sourcemaps: Sourcemaps = Sourcemaps()

    def key(self) -> str:
        return _settings_key(self)


@functools.lru_cache(maxsize=8)
def _settings_key(settings: Settings) -> str:
    # Cached: the PNG engine's version comes from package metadata (~0.5 ms),
    # and the mtime strategy asks once per job.
    from assetpipe import __version__
    # keep_unversioned only decides which plain copies are written: no bytes.
    shaping = (settings.minify, settings.compress, settings.images, settings.refs,
               settings.versioning.strategy, settings.versioning.length,
               settings.versioning.prehashed, settings.sourcemaps)
    text = repr(shaping) + __version__ + TOOL_EPOCH
    if settings.images.png == "lossless":  # a new engine release may change the bytes
        from assetpipe.engine_key import png_key
        text += png_key(settings.images.strip)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def decode_text(logical_path: str, data: bytes) -> str:
    """UTF-8 text without a BOM; BuildError naming file:line if not UTF-8."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise BuildError(f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); "
                         "save the file as UTF-8", logical_path, line) from None


def minifies(logical_path: str, settings: Settings) -> bool:
    ext = extension(logical_path)
    if minify.is_preminified(logical_path):
        return False
    return (is_js(logical_path) and settings.minify.js) or (ext == ".css" and settings.minify.css)


def makes_map(logical_path: str, is_bundle: bool, settings: Settings) -> bool:
    """A source map for every minified CSS/JS file and every CSS/JS bundle."""
    return (settings.sourcemaps.enabled and scannable(logical_path)
            and (is_bundle or minifies(logical_path, settings)))


def optimizes_png(logical_path: str, settings: Settings) -> bool:
    return extension(logical_path) == ".png" and settings.images.png == "lossless"


def transform_file(logical_path: str, data: bytes, settings: Settings,
                   versioned: dict[str, str], memo: Memo | None = None,
                   pieces: list | None = None,
                   reuse: Memo | None = None) -> tuple[bytes, list[str]]:
    """Final bytes of one source file, plus warnings.  `versioned` maps the
    logical paths it references to their versioned paths.  `pieces` collects
    the text at each stage, for a source map (sourcemap.Piece).  `reuse`
    (cache.Results.reuse) caches the reference scan the plan did already."""
    if scannable(logical_path):
        try:
            text = decode_text(logical_path, data)
        except BuildError as exc:
            return data, [f"{exc}; copied unchanged, served without charset=utf-8 "
                          "(make the server rules again after this build)"]
        minified = minifies(logical_path, settings)
        original = text
        # A file copied unminified keeps its own map comment (re-pointed),
        # unless maps are `hidden`: then no output names a map.
        hidden = settings.sourcemaps.enabled and settings.sourcemaps.hidden
        text = rewrite_text(logical_path, logical_path, text, versioned,
                            keeps_sourcemap=not minified and not hidden, policy=settings.refs,
                            memo=reuse)
        warnings: list[str] = []
        final = _final_text(logical_path, original, text, minified, warnings, memo, pieces)
        return final.encode("utf-8"), warnings
    if optimizes_png(logical_path, settings):
        from assetpipe.images import optimize_png
        result = optimize_png(data, settings.images.strip)
        warnings = [f"{logical_path}: {result.warning}"] if result.warning else []
        return result.content, warnings
    return data, []


def transform_bundle(name: str, members: list[tuple[str, bytes]], settings: Settings,
                     versioned: dict[str, str], memo: Memo | None = None,
                     pieces: list | None = None,
                     reuse: Memo | None = None) -> tuple[bytes, list[str]]:
    """Concatenate (and minify) bundle members in order; their links are
    re-pointed from each member's folder to the bundle's.  Returns the bytes
    and warnings (a member published unminified); `pieces` as in
    transform_file."""
    texts: list[str] = []
    warnings: list[str] = []
    for logical_path, data in members:
        original = text = decode_text(logical_path, data)
        if scannable(logical_path):
            text = rewrite_text(name, logical_path, text, versioned,
                                keeps_sourcemap=False, policy=settings.refs, memo=reuse)
        texts.append(_final_text(logical_path, original, text, minifies(logical_path, settings),
                                 warnings, memo, pieces))
    if extension(name) == ".css":
        return minify.join_css(texts).encode("utf-8"), warnings
    if is_js(name):
        return minify.join_js(texts).encode("utf-8"), warnings
    return "\n".join(texts).encode("utf-8"), warnings


def _final_text(logical_path: str, original: str, text: str, minified: bool,
                warnings: list[str], memo: Memo | None, pieces: list | None) -> str:
    """`text` (after reference rewriting) minified or not; with `pieces`, the
    stages of the text (and the check's tokens) go there for a source map."""
    keep: list | None = [] if pieces is not None else None
    final = _minify_text(logical_path, text, warnings, memo, keep) if minified else text
    if pieces is not None:
        pieces.append(Piece(logical_path, original, text, final, keep[-1] if keep else None))
    return final


def _minify_text(logical_path: str, text: str, warnings: list[str],
                 memo: Memo | None = None, keep: list | None = None) -> str:
    """Minified text, or `text` itself (with a warning) when the minifier's
    output does not have the source's token stream.  Cached (`memo`) by the
    text after its links were re-pointed: that text and the versions of the
    minifier and of the check (cache.text_key) are all the result depends on."""
    ext = extension(logical_path)
    lines: list[int | None] = []

    def run() -> bytes:
        out, line = _checked(ext, text, keep)
        lines.append(line)
        return out.encode("utf-8")

    if memo is None:
        out = run().decode("utf-8")
    else:
        from assetpipe.cache import text_key
        out = memo(text_key(ext, text), run).decode("utf-8")
    if out == text and not lines:  # a cached result that kept the source: why?
        run()
    if lines and lines[0] is not None:
        warnings.append(f"{logical_path}:{lines[0]}: the minifier changed the program here; "
                        "published unminified")
    return out


def _checked(ext: str, text: str, keep: list | None) -> tuple[str, int | None]:
    if ext == ".css":
        return minify.checked_css(text)
    return minify.checked_js(text, module=ext == ".mjs", keep=keep)
