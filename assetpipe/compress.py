"""Precompressed twins (pure: bytes in, bytes or None out).

gzip with mtime=0 and no file name, so two builds give identical bytes; a
twin is kept only when it is at most 95% of the original (WhiteNoise's rule:
smaller savings don't pay for the extra file and negotiation).  The build's
versioned files and the pages make their twins here, from the [compress]
section, so the two can never disagree on which twin a file gets.
"""
from __future__ import annotations

import gzip

from assetpipe.config import Compress
from assetpipe.errors import MissingEngine
from assetpipe.policy import BROTLI, TWIN_SUFFIXES, Twin, active_twins

MIN_SAVING_RATIO = 0.95
# Above this size brotli uses the "large" quality (see config.Compress).
BROTLI_LARGE_BYTES = 64 * 1024


def gzip_twin(content: bytes, level: int = Compress.gzip_level) -> bytes | None:
    # gzip.compress writes no file name; mtime=0 makes the header constant.
    packed = gzip.compress(content, compresslevel=level, mtime=0)
    return packed if len(packed) <= len(content) * MIN_SAVING_RATIO else None


def brotli_quality_for(size: int, quality: int, large_quality: int) -> int:
    """The quality a file of `size` bytes is encoded with."""
    return large_quality if size > BROTLI_LARGE_BYTES else quality


def brotli_twin(content: bytes, quality: int = Compress.brotli_quality,
                large_quality: int = Compress.brotli_large_quality) -> bytes | None:
    try:
        import brotli
    except ImportError:  # pragma: no cover - brotli is a declared dependency
        raise MissingEngine("brotli twins need the 'brotli' package: pip install brotli "
                            "(or set compress.brotli = false)") from None
    quality = brotli_quality_for(len(content), quality, large_quality)
    packed: bytes = brotli.compress(content, quality=quality)
    return packed if len(packed) <= len(content) * MIN_SAVING_RATIO else None


def expand(encoding: str, packed: bytes) -> bytes | None:
    """A twin's original bytes, or None when it does not decode: used to
    check twins that come from a cache rather than from this process."""
    try:
        if encoding == "br":
            import brotli
            original: bytes = brotli.decompress(packed)
            return original
        return gzip.decompress(packed)
    except Exception:  # noqa: BLE001 - any decoder failure means "not this twin"
        return None


def configured_twins(settings: Compress) -> tuple[Twin, ...]:
    return active_twins(settings.gzip, settings.gzip_suffix, settings.brotli)


def make_twin(twin: Twin, content: bytes, settings: Compress) -> bytes | None:
    """One configured twin's bytes, or None when it does not pay."""
    if twin == BROTLI:
        return brotli_twin(content, settings.brotli_quality, settings.brotli_large_quality)
    return gzip_twin(content, settings.gzip_level)


def all_twins(content: bytes, settings: Compress) -> dict[str, bytes | None]:
    """Twin suffix -> bytes, or None where there must be no twin.  Every
    suffix a build may write is listed, so a twin under a suffix no longer
    configured (or no longer paying) is known to be stale."""
    found: dict[str, bytes | None] = dict.fromkeys(TWIN_SUFFIXES)
    for twin in configured_twins(settings):
        found[twin.suffix] = make_twin(twin, content, settings)
    return found
