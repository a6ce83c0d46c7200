"""assetpipe.png_effort: which row filters and libdeflate level an image gets.

The images are made here: a flat 1280x800 "screenshot" (white page, grey bars
and a few lines of dotted "text"), a noisy image just above the large-image
threshold, and small ones.
"""
import random
import zlib

import oxipng
import pytest
from test_images import chunk, handmade_png

from assetpipe import images, png_effort
from assetpipe.images import optimize_png, png_settings_key, read_chunks
from assetpipe.png_effort import Effort, choose_effort


def flat_rows(width=1280, height=800):
    """RGB rows like a UI screenshot: mostly white, a header bar, text-like dots."""
    white, bar = b"\xff" * (3 * width), b"\x30\x50\x90" * width
    rows = []
    for y in range(height):
        if y < 60:
            rows.append(bar)
        elif y % 24 < 12:
            glyphs = bytes((x * 7 + y * 13) % 5 * 40 for x in range(3 * 400))
            rows.append(b"\xff" * 300 + glyphs + white[: 3 * width - 300 - len(glyphs)])
        else:
            rows.append(white)
    return rows


def noisy_rows(width, height, seed=0):
    rng = random.Random(seed)
    return [rng.randbytes(3 * width) for _ in range(height)]


def recompressed(data: bytes, level: int) -> bytes:
    """The same IDAT rows deflated at another zlib level (same pixels)."""
    return images.SIGNATURE + b"".join(
        chunk(k.encode(), zlib.compress(zlib.decompress(p), level) if k == "IDAT" else p)
        for k, p in read_chunks(data))


def test_flat_large_image_gets_the_cheaper_level():
    data = handmade_png(1280, 800, 8, 2, flat_rows())
    assert choose_effort(read_chunks(data), palette=False) == Effort(
        png_effort.LARGE_FILTERS, png_effort.FLAT_LEVEL)


def test_busy_large_image_keeps_the_strong_level():
    """Just above the threshold and incompressible: level 12 is cheap enough
    for what it can win (the corpus's emoji sheets are such images)."""
    data = handmade_png(560, 600, 8, 2, noisy_rows(560, 600))
    assert png_effort.raw_size(read_chunks(data)[0][1]) > png_effort.LARGE_RAW
    assert choose_effort(read_chunks(data), palette=False) == Effort(
        png_effort.LARGE_FILTERS, png_effort.LIBDEFLATE_LEVEL)


@pytest.mark.parametrize("palette, expected", [
    (False, png_effort.ROW_FILTERS), (True, png_effort.PALETTE_FILTERS)])
def test_small_image_filters_follow_the_colour_type(palette, expected):
    data = handmade_png(64, 64, 8, 2, flat_rows(64, 64))
    wanted = Effort(expected, png_effort.LIBDEFLATE_LEVEL)
    assert choose_effort(read_chunks(data), palette) == wanted


def test_effort_depends_on_the_pixels_not_on_how_the_input_was_deflated():
    """The trial re-deflates the rows itself, so the same image stored
    uncompressed or at zlib -9 gets the same effort (and the same output)."""
    stored = handmade_png(1280, 800, 8, 2, flat_rows())
    tight = recompressed(stored, 9)
    assert len(tight) < len(stored) // 20
    assert choose_effort(read_chunks(tight), False) == choose_effort(read_chunks(stored), False)
    assert optimize_png(tight).content == optimize_png(stored).content


def test_flat_screenshot_is_compressed_at_the_flat_level():
    """The chosen level reaches the engine: the output is oxipng's at FLAT_LEVEL,
    not the one level 12 makes (negative control)."""
    data = handmade_png(1280, 800, 8, 2, flat_rows())
    result = optimize_png(data)
    assert result.warning is None and len(result.content) < len(data)

    def oxipng_at(level: int) -> bytes:
        keep = oxipng.StripChunks.keep([c.encode() for c in images.APPEARANCE_CHUNKS])
        return oxipng.optimize_from_memory(
            data, level=png_effort.OXIPNG_LEVEL, filter=[oxipng.RowFilter.NoOp], strip=keep,
            deflate=oxipng.Deflaters.libdeflater(level))
    assert result.content == oxipng_at(png_effort.FLAT_LEVEL)
    assert result.content != oxipng_at(png_effort.LIBDEFLATE_LEVEL)


def test_effort_rules_are_in_the_cache_key(monkeypatch):
    before = png_settings_key("safe")
    monkeypatch.setattr(png_effort, "FLAT_LEVEL", png_effort.FLAT_LEVEL - 1)
    assert png_settings_key("safe") != before
