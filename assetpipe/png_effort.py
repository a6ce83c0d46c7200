"""How much effort oxipng spends on one PNG: the row filters it tries and the
libdeflate level it compresses with.  The one place for these rules; each is
measured in benchmarks/RESULTS-png.md and described in docs/png.md.

The rules look only at the image's own bytes, never at the clock or the load,
so a rebuild gives the same output on any machine (no oxipng `timeout`).
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

# Measured on the 698-PNG corpus: level 2 trying only these four row filters
# (palette and <8-bit images: none, as the PNG spec advises) and libdeflate 12
# save 7.0%; higher levels or zopfli win a little more but cost 2-10x the time.
OXIPNG_LEVEL = 2
ROW_FILTERS: tuple[str, ...] = ("NoOp", "Sub", "Up", "MinSum")
PALETTE_FILTERS: tuple[str, ...] = ("NoOp",)
LIBDEFLATE_LEVEL = 12
# Large images (a 1280x800 screenshot has ~3 MB of rows): oxipng's time grows
# with the raw size while the filters stop paying (flat UI and text compress
# best unfiltered), so only NoOp is tried.
LARGE_RAW = 1_000_000
LARGE_FILTERS: tuple[str, ...] = ("NoOp",)
# A large image whose rows zlib -1 packs below FLAT_RATIO of their size is
# flat (UI screenshots: 2-4%; the corpus's photo-like emoji sheets: 39-44%).
# There libdeflate 12's near-optimal parser is at its slowest (long matches:
# 0.3-0.6 s a screenshot, 3-6x level 10) while the bytes it can win are a few
# percent of an output that is already tiny: level FLAT_LEVEL instead.  10, not
# 11: on the mixed icon + screenshot set level 11 measured 0.46-0.47x optipng
# -o2's CPU, too close to the 0.5x budget to hold on every run; 10 is 0.37x.
FLAT_RATIO = 0.10
FLAT_LEVEL = 10
TRIAL_LEVEL = 1


@dataclass(frozen=True)
class Effort:
    filters: tuple[str, ...]  # oxipng RowFilter names
    libdeflate: int  # libdeflate compression level


def effort_key() -> str:
    """The rules as a string for the PNG cache key (an edit here re-runs oxipng)."""
    return (
        f"level={OXIPNG_LEVEL}:filters={','.join(ROW_FILTERS)}/{','.join(PALETTE_FILTERS)}"
        f":libdeflate={LIBDEFLATE_LEVEL}:large>{LARGE_RAW}={','.join(LARGE_FILTERS)}"
        f":flat<{FLAT_RATIO}@zlib{TRIAL_LEVEL}=libdeflate{FLAT_LEVEL}"
    )


def raw_size(header: bytes) -> int:
    """Bytes of filtered rows in a non-interlaced image with this IHDR payload."""
    width, height, depth, colour, _, _, _ = struct.unpack(">IIBBBBB", header)
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(colour, 4)
    return height * (1 + (width * channels * depth + 7) // 8)


def choose_effort(chunks: list[tuple[str, bytes]], palette: bool) -> Effort:
    """The effort for an image with these chunks (IHDR first, CRCs checked).

    `palette` says oxipng will turn the image into a palette image (see
    images._fits_palette); palette and <8-bit images are not filtered.
    """
    header = chunks[0][1]
    if raw_size(header) > LARGE_RAW:
        flat = _trial_ratio(chunks) < FLAT_RATIO
        return Effort(LARGE_FILTERS, FLAT_LEVEL if flat else LIBDEFLATE_LEVEL)
    depth, colour = header[8], header[9]
    filters = PALETTE_FILTERS if palette or colour == 3 or depth < 8 else ROW_FILTERS
    return Effort(filters, LIBDEFLATE_LEVEL)


def _trial_ratio(chunks: list[tuple[str, bytes]]) -> float:
    """How small a quick deflate makes the image's rows, as a fraction of them:
    the cheap estimate of what a strong deflater can win (~10 ms a screenshot)."""
    try:
        rows = zlib.decompress(b"".join(p for k, p in chunks if k == "IDAT"))
    except zlib.error:
        return 1.0  # the engine will fail on it anyway; no reason to save effort
    return len(zlib.compress(rows, TRIAL_LEVEL)) / max(len(rows), 1)
