"""assetpipe.images: lossless, verified PNG recompression.

Fixtures are made here with Pillow, or chunk by chunk (zlib + struct) where
Pillow cannot write the case; they are stored uncompressed so there is always
something for the optimiser to win.
"""
import multiprocessing
import struct
import zlib
from concurrent.futures import ProcessPoolExecutor
from io import BytesIO

import pytest
from PIL import Image, ImageCms, PngImagePlugin

from assetpipe import images
from assetpipe.images import PngResult, optimize_png, png_settings_key, read_chunks


def chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def handmade_png(width, height, depth, colour, rows, extra=()):
    """A PNG with filter-0 rows stored without compression; `extra` chunks
    (kind, payload) go before IDAT."""
    raw = b"".join(b"\0" + row for row in rows)
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    body = [chunk(b"IHDR", ihdr)] + [chunk(k, p) for k, p in extra]
    body += [chunk(b"IDAT", zlib.compress(raw, 0)), chunk(b"IEND", b"")]
    return images.SIGNATURE + b"".join(body)


def pillow_png(im: Image.Image, **params) -> bytes:
    out = BytesIO()
    im.save(out, "PNG", compress_level=0, **params)
    return out.getvalue()


def kinds(data: bytes) -> list[str]:
    return [kind for kind, _ in read_chunks(data)]


def rgba_frames(data: bytes):
    with Image.open(BytesIO(data)) as im:
        frames = []
        for index in range(getattr(im, "n_frames", 1)):
            im.seek(index)
            frames.append((im.info.get("duration"), im.convert("RGBA").tobytes()))
        return frames


def samples16(data: bytes) -> bytes:
    """Raw big-endian samples of a non-interlaced 16-bit PNG, unfiltered here in
    plain Python so the check does not share code with the module under test."""
    chunks = read_chunks(data)
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert depth == 16 and interlace == 0
    bpp = {0: 2, 2: 6, 4: 4, 6: 8}[colour]
    raw = zlib.decompress(b"".join(p for k, p in chunks if k == "IDAT"))
    stride = width * bpp
    prev, out = bytearray(stride), bytearray()
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out += line
        prev = line
    return bytes(out)


def gradient_rows(width, height, channels, depth=8):
    """Smooth rows (compressible) whose low bytes still vary, for 16-bit tests."""
    top = (1 << depth) - 1
    rows = []
    for y in range(height):
        samples = [(x * 37 + y * 101 + c * 4099) % top for x in range(width) for c in range(channels)]
        rows.append(struct.pack(f">{len(samples)}{'H' if depth == 16 else 'B'}", *samples))
    return rows


def assert_optimised(data: bytes, result: PngResult):
    assert result.warning is None
    assert len(result.content) < len(data)
    assert rgba_frames(result.content) == rgba_frames(data)


# --- colour types -----------------------------------------------------------

def test_palette_with_trns_keeps_transparency():
    palette = bytes([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 0])
    rows = [bytes((x + y) % 4 for x in range(32)) for y in range(32)]
    data = handmade_png(32, 32, 8, 3, rows, [(b"PLTE", palette), (b"tRNS", bytes([0, 128, 255, 64]))])
    result = optimize_png(data)
    assert_optimised(data, result)
    alphas = set(Image.open(BytesIO(result.content)).convert("RGBA").tobytes()[3::4])
    assert alphas == {0, 128, 255, 64}


def test_grayscale_with_alpha():
    im = Image.new("LA", (40, 30))
    im.putdata([(x * 6 % 256, (x * y) % 256) for y in range(30) for x in range(40)])
    data = pillow_png(im)
    assert_optimised(data, optimize_png(data))


@pytest.mark.parametrize("colour, channels", [(0, 1), (2, 3), (6, 4)], ids=["gray16", "rgb16", "rgba16"])
def test_16_bit_samples_kept_exactly(colour, channels):
    data = handmade_png(24, 16, 16, colour, gradient_rows(24, 16, channels, depth=16))
    result = optimize_png(data)
    assert result.warning is None and len(result.content) < len(data)
    assert result.content[24] == 16, "bit depth must stay 16"
    assert samples16(result.content) == samples16(data)


def test_interlaced_16_bit_is_verified():
    import oxipng  # Pillow cannot write Adam7, so the engine makes the fixture

    flat = handmade_png(24, 16, 16, 2, gradient_rows(24, 16, 3, depth=16))
    data = oxipng.optimize_from_memory(flat, level=0, interlace=oxipng.Interlacing.Adam7)
    assert data[28] == 1, "fixture must be interlaced"
    result = optimize_png(data)
    assert result.warning is None and len(result.content) < len(data)
    assert samples16(result.content) == samples16(flat)  # our decoder reads only non-interlaced


def test_16_bit_grey_alpha_is_passed_through():
    """Pillow cannot decode 16-bit grey+alpha at full precision, so it is not
    verifiable and must come back untouched (and without a warning: it is fine)."""
    data = handmade_png(16, 16, 16, 4, gradient_rows(16, 16, 2, depth=16))
    assert optimize_png(data) == PngResult(data, None)


def test_16_bit_low_byte_change_is_rejected(monkeypatch):
    """Pillow decodes 16-bit RGB as 8-bit; a change in the low bytes alone must
    still be caught by the verification."""
    rows = gradient_rows(8, 8, 3, depth=16)
    data = handmade_png(8, 8, 16, 2, rows)
    rows[3] = rows[3][:1] + bytes([rows[3][1] ^ 1]) + rows[3][2:]
    tampered = handmade_png(8, 8, 16, 2, rows)
    smaller = images.SIGNATURE + b"".join(
        chunk(k.encode(), zlib.compress(p, 9) if k == "IDAT" else p)
        for k, p in [(k, zlib.decompress(p) if k == "IDAT" else p) for k, p in read_chunks(tampered)]
    )
    monkeypatch.setattr(images, "_recompress", lambda data, strip, keep_header, palette=False: smaller)
    result = optimize_png(data)
    assert result.content == data
    assert "pixels differ" in result.warning


def test_animated_png_keeps_every_frame():
    frames = [Image.new("RGBA", (20, 20), colour) for colour in ("red", "green", (0, 0, 255, 128))]
    for index, frame in enumerate(frames):
        frame.putpixel((index, index), (9, 9, 9, 9))
    out = BytesIO()
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:], duration=[100, 200, 300], loop=0, compress_level=0)
    data = out.getvalue()
    result = optimize_png(data)
    assert len(result.content) <= len(data)
    assert kinds(result.content).count("fcTL") == 3 and "acTL" in kinds(result.content)
    assert rgba_frames(result.content) == rgba_frames(data)


# --- chunks -----------------------------------------------------------------

GAMA = (b"gAMA", struct.pack(">I", 45455))
CHRM = (b"cHRM", struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000))


@pytest.mark.parametrize("strip", ["safe", "none"])
def test_gama_and_chrm_are_kept(strip):
    data = handmade_png(32, 32, 8, 2, gradient_rows(32, 32, 3), [GAMA, CHRM])
    result = optimize_png(data, strip=strip)
    assert_optimised(data, result)
    assert {"gAMA", "cHRM"} <= set(kinds(result.content))
    assert dict(read_chunks(result.content))["cHRM"] == CHRM[1]


def test_icc_profile_is_kept():
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    im = Image.new("RGB", (32, 32))
    im.putdata([(x * 8, y * 8, 0) for y in range(32) for x in range(32)])
    data = pillow_png(im, icc_profile=profile)
    result = optimize_png(data)
    assert_optimised(data, result)
    assert {"iCCP", "sRGB"} & set(kinds(result.content))  # oxipng may swap an sRGB profile for sRGB


def test_text_chunks_stripped_only_when_safe():
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "hand")
    info.add_text("Comment", "zipped " * 20, zip=True)
    info.add_itxt("Title", "international")
    im = Image.new("RGB", (16, 16), "white")
    data = pillow_png(im, pnginfo=info)
    tIME = chunk(b"tIME", struct.pack(">HBBBBB", 2024, 1, 2, 3, 4, 5))
    data = data[:33] + tIME + data[33:]  # right after IHDR
    text = {"tEXt", "zTXt", "iTXt", "tIME"}
    assert text <= set(kinds(data))
    safe = optimize_png(data, strip="safe")
    assert_optimised(data, safe)
    assert not text & set(kinds(safe.content))
    kept = optimize_png(data, strip="none")
    assert_optimised(data, kept)
    assert text <= set(kinds(kept.content))


def test_strip_none_keeps_background_chunk_through_reductions():
    """One grey with a few alphas: oxipng turns it into a palette image and drops
    bKGD (a grey value a palette cannot hold); "none" must keep it anyway."""
    im = Image.new("LA", (64, 64))
    im.putdata([(68, 255 if (x // 3 + y // 5) % 3 == 0 else 0 if (x + y) % 4 else 128) for y in range(64) for x in range(64)])
    info = PngImagePlugin.PngInfo()
    info.add(b"bKGD", b"\x00\x44")
    data = pillow_png(im, pnginfo=info)
    assert "bKGD" not in kinds(images._recompress(data, "none", keep_header=False))  # the engine's habit
    result = optimize_png(data, strip="none")
    assert_optimised(data, result)
    assert dict(read_chunks(result.content))["bKGD"] == b"\x00\x44"


def test_lost_colour_chunk_is_rejected(monkeypatch):
    data = handmade_png(16, 16, 8, 2, gradient_rows(16, 16, 3), [CHRM])
    smaller = images.SIGNATURE + b"".join(
        chunk(k.encode(), zlib.compress(zlib.decompress(p), 9) if k == "IDAT" else p)
        for k, p in read_chunks(data) if k != "cHRM"
    )
    monkeypatch.setattr(images, "_recompress", lambda data, strip, keep_header, palette=False: smaller)
    result = optimize_png(data)
    assert result.content == data
    assert "cHRM" in result.warning


# --- broken input -------------------------------------------------------------

def small_png() -> bytes:
    return pillow_png(Image.new("RGB", (64, 64), "orange"))


@pytest.mark.parametrize(
    "make, problem",
    [
        (lambda: small_png()[:-40], "truncated"),
        (lambda: b"GIF89a" + small_png()[6:], "not a PNG"),
        (lambda: small_png()[:40] + b"\x00" + small_png()[41:], "bad CRC"),
        (lambda: handmade_png(100_000, 100_000, 8, 0, [b"\0" * 10]), "above the pixel budget"),
    ],
    ids=["truncated", "not-png", "bad-crc", "bomb"],
)
def test_broken_input_is_copied_unchanged_with_warning(make, problem):
    data = make()
    result = optimize_png(data)
    assert result.content == data
    assert problem in result.warning and "copied unchanged" in result.warning


def test_undecodable_idat_is_copied_unchanged():
    data = handmade_png(8, 8, 8, 0, [b"\0" * 8] * 8)
    idat = read_chunks(data)[1][1]
    broken = data.replace(chunk(b"IDAT", idat), chunk(b"IDAT", idat[:5]))
    result = optimize_png(broken)
    assert result.content == broken and "cannot decode" in result.warning


def test_already_optimal_file_is_returned_unchanged():
    data = optimize_png(handmade_png(16, 16, 8, 0, gradient_rows(16, 16, 1))).content
    result = optimize_png(data)
    assert result.content == data and result.warning is None


def zopfli_png(extra=()) -> bytes:
    """A noisy RGB image already squeezed by zopfli: its IDAT is >3% smaller
    than zlib -6 makes its rows. `extra` chunks go right after IHDR."""
    import oxipng
    import random

    rng = random.Random(0)
    rows = [bytes((x * 7 + y * 3 + rng.choice((0, 0, 0, 1, 17))) % 256 for x in range(96 * 3)) for y in range(64)]
    data = oxipng.optimize_from_memory(handmade_png(96, 64, 8, 2, rows), level=2, deflate=oxipng.Deflaters.zopfli(15))
    return data[:33] + b"".join(chunk(k, p) for k, p in extra) + data[33:]


def test_file_a_strong_optimiser_made_is_skipped(monkeypatch):
    def engine(*args, **kwargs):
        raise AssertionError("oxipng should not run on an already optimised file")

    monkeypatch.setattr(images, "_recompress", engine)
    data = zopfli_png()
    assert optimize_png(data) == PngResult(data, None)


def test_tight_file_with_text_is_still_stripped():
    data = zopfli_png([(b"tEXt", b"Comment\0" + b"made by hand " * 10)])
    result = optimize_png(data)
    assert result.warning is None and "tEXt" not in kinds(result.content)
    assert rgba_frames(result.content) == rgba_frames(data)


@pytest.mark.parametrize(
    "mode, pixel, expected",
    [
        ("LA", lambda x, y: (x % 4 * 60, 255 if x % 3 else 0), True),  # oxipng makes a palette of it
        ("L", lambda x, y: x % 4 * 60, False),  # stays grey: row filters may pay off
        ("RGB", lambda x, y: (x, y, 0), False),  # 32 x 32 = 1024 colours
    ],
    ids=["few-colours-alpha", "opaque-grey", "many-colours"],
)
def test_palette_candidates(mode, pixel, expected):
    im = Image.new(mode, (32, 32))
    im.putdata([pixel(x, y) for y in range(32) for x in range(32)])
    data = pillow_png(im)
    assert images._fits_palette(images._snapshot(data, read_chunks(data))) is expected


def test_settings_key_names_engine_and_strip_mode():
    assert png_settings_key("safe") != png_settings_key("none")
    assert "pyoxipng" in png_settings_key("safe")


# --- the corpus -----------------------------------------------------------------

def check_corpus_file(path):
    """Runs in a spawned worker: optimise and independently re-verify."""
    data = path.read_bytes()
    result = optimize_png(data)
    content = result.content
    problems = []
    if len(content) > len(data):
        problems.append("larger")
    if content != data:
        if data[24] == 16:
            if content[24] != 16 or samples16(content) != samples16(data):
                problems.append("16-bit samples differ")
        elif rgba_frames(content) != rgba_frames(data):
            problems.append("pixels differ")
        if {"cHRM", "gAMA", "sRGB", "iCCP"} & set(kinds(data)) - set(kinds(content)):
            problems.append("colour chunk lost")
    return str(path), len(data), len(content), result.warning, problems


def test_corpus_is_pixel_identical_and_never_larger(corpus_dir):
    paths = sorted(corpus_dir.rglob("*.png"))
    assert paths, f"no PNG under {corpus_dir}"
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(check_corpus_file, paths, chunksize=8))
    failures = [(path, problems) for path, _, _, _, problems in results if problems]
    assert not failures
    before = sum(r[1] for r in results)
    after = sum(r[2] for r in results)
    assert after < before * 0.95  # the corpus has plenty of badly compressed files
