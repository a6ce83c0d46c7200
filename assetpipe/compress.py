"""Precompressed twins (pure: bytes in, bytes or None out).

gzip with mtime=0 and no file name, so two builds give identical bytes; a
twin is kept only when it is at most 95% of the original (WhiteNoise's rule:
smaller savings don't pay for the extra file and negotiation).
"""
from __future__ import annotations

import gzip

MIN_SAVING_RATIO = 0.95
# Above this size brotli uses the "large" quality (see config.Compress).
BROTLI_LARGE_BYTES = 64 * 1024


def gzip_twin(content: bytes, level: int = 9) -> bytes | None:
    # gzip.compress writes no file name; mtime=0 makes the header constant.
    packed = gzip.compress(content, compresslevel=level, mtime=0)
    return packed if len(packed) <= len(content) * MIN_SAVING_RATIO else None


def brotli_quality_for(size: int, quality: int, large_quality: int) -> int:
    """The quality a file of `size` bytes is encoded with."""
    return large_quality if size > BROTLI_LARGE_BYTES else quality


def brotli_twin(content: bytes, quality: int = 11, large_quality: int = 9) -> bytes | None:
    try:
        import brotli
    except ImportError:  # pragma: no cover - brotli is a declared dependency
        raise RuntimeError("brotli twins need the 'brotli' package: pip install brotli") from None
    quality = brotli_quality_for(len(content), quality, large_quality)
    packed = brotli.compress(content, quality=quality)
    return packed if len(packed) <= len(content) * MIN_SAVING_RATIO else None


def expand(encoding: str, packed: bytes) -> bytes | None:
    """A twin's original bytes, or None when it does not decode: used to
    check twins that come from a cache rather than from this process."""
    try:
        if encoding == "br":
            import brotli
            return brotli.decompress(packed)
        return gzip.decompress(packed)
    except Exception:  # noqa: BLE001 - any decoder failure means "not this twin"
        return None
