"""Lossless PNG recompression, verified on every file.

`optimize_png` is a pure function (bytes in, bytes out) so the build can run it
in a spawn/forkserver process pool. The engine is pyoxipng, imported on first
use: a pool *forked* after oxipng ran in the parent hung with both workers
spinning, so the module must import cleanly in a spawned worker and must not
touch oxipng at import time.

An optimised file is kept only when it is smaller, decodes to exactly the same
pixels (every frame, alpha included, 16-bit samples in full) and still carries
the chunks that change how it looks. Anything else returns the input unchanged.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from io import BytesIO

from PIL import Image, ImageFile

from assetpipe.errors import MissingEngine
from assetpipe.png_effort import OXIPNG_LEVEL, choose_effort, effort_key, raw_size

SIGNATURE = b"\x89PNG\r\n\x1a\n"

# The pixel budget, checked on the IHDR before anything is decoded: a worker
# holds a few RGBA copies of the image (4 bytes a pixel each), so a 9000x9000
# PNG of 80 KB cost 1.4 GB.  16 megapixels (4096x4096) bounds a build near
# 350 MB (measured); larger images are copied unchanged with a warning.  A fixed number,
# so a worker's result never depends on a global someone else changed.
MAX_PIXELS = 16_777_216

# Chunks that change how an image looks (colour, transparency, physical size,
# animation). Under strip="safe" these are exactly what the engine keeps; text,
# time, EXIF and private chunks go. oxipng's own "safe" mode drops cHRM.
APPEARANCE_CHUNKS = (
    "cICP", "mDCv", "cLLI", "cHRM", "gAMA", "iCCP", "sRGB", "sBIT",
    "tRNS", "pHYs", "acTL", "fcTL", "fdAT",
)
STRIP_MODES = ("safe", "none")

# Skip a file whose IDAT is already this much smaller than zlib -6 makes its
# own filtered rows and that has no chunk to strip (corpus: 374 files, ~2.3 s
# CPU, 33 bytes lost).  The filters and levels oxipng gets: png_effort.
DONE_RATIO = 0.97
DONE_CHECK_MAX_RAW = 300_000
ENGINE_VERSION = 8  # bump when the verification or the settings above change


@dataclass(frozen=True)
class PngResult:
    content: bytes  # the optimised bytes, or the input unchanged
    warning: str | None  # why the input was copied unchanged; caller adds the file name


class PngFormatError(ValueError):
    """The bytes are not a well-formed PNG; the message says what is wrong."""


def png_settings_key(strip: str = "safe") -> str:
    """A string for the build cache key: changes whenever the output could.

    Reads the engine's version from package metadata rather than importing it,
    so the build's parent process never loads oxipng (see the module docstring).
    """
    from importlib.metadata import version

    return (
        f"png:v{ENGINE_VERSION}:pyoxipng-{version('pyoxipng')}:strip={strip}"
        f":{effort_key()}:done<{DONE_RATIO}@{DONE_CHECK_MAX_RAW}"
    )


def optimize_png(data: bytes, strip: str = "safe") -> PngResult:
    """Recompress `data` losslessly; never raises on bad input.

    Returns the input byte-identical (with a warning for broken files) unless
    the optimised bytes are smaller and verified identical in appearance.
    `strip` is "safe" (drop text, time, EXIF and private chunks) or "none";
    any other value is a programming error and raises ValueError.
    """
    if strip not in STRIP_MODES:
        raise ValueError(f"strip must be one of {STRIP_MODES}, not {strip!r}")
    try:
        chunks = read_chunks(data)
        before = _snapshot(data, chunks)
    except PngFormatError as exc:
        return PngResult(data, f"{exc}; copied unchanged")
    except Exception as exc:  # Pillow raises OSError, SyntaxError, zlib.error, ...
        return PngResult(data, f"cannot decode PNG ({type(exc).__name__}: {exc}); copied unchanged")
    if before is None:  # a format we cannot verify exactly (see _snapshot)
        return PngResult(data, None)
    if _already_optimised(chunks, strip):
        return PngResult(data, None)
    # A colour-type reduction can invalidate a chunk (oxipng then drops e.g.
    # bKGD); a rejected result gets one retry with the header left alone.
    sixteen_bit = _ihdr(chunks)[2] == 16
    few_colours = not sixteen_bit and _fits_palette(before)
    for keep_header in (True,) if sixteen_bit else (False, True):
        try:
            candidate = _recompress(data, strip, keep_header, few_colours and not keep_header)
        except MissingEngine:
            raise  # the whole build's problem, not this file's
        except Exception as exc:  # the engine's errors are not a documented type
            return PngResult(data, f"oxipng failed ({exc}); copied unchanged")
        if len(candidate) >= len(data):
            return PngResult(data, None)
        problem = _difference(chunks, before, candidate, strip)
        if not problem:
            return PngResult(candidate, None)
    return PngResult(data, f"optimised PNG rejected: {problem}; copied unchanged")


def read_chunks(data: bytes) -> list[tuple[str, bytes]]:
    """Split a PNG into (type, payload) pairs, checking signature, CRCs and IEND."""
    if not data.startswith(SIGNATURE):
        raise PngFormatError("not a PNG (bad signature)")
    chunks, pos = [], len(SIGNATURE)
    while pos < len(data):
        if pos + 8 > len(data):
            raise PngFormatError("truncated PNG (partial chunk header)")
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 8 + length + 4
        if end > len(data):
            raise PngFormatError(f"truncated PNG (chunk {kind!r} cut short)")
        if zlib.crc32(data[pos + 4 : end - 4]) != struct.unpack(">I", data[end - 4 : end])[0]:
            raise PngFormatError(f"corrupt PNG (bad CRC in chunk {kind!r})")
        chunks.append((kind.decode("latin-1"), data[pos + 8 : end - 4]))
        pos = end
        if kind == b"IEND":
            break
    if not chunks or chunks[0][0] != "IHDR" or len(chunks[0][1]) != 13:
        raise PngFormatError("not a PNG (no IHDR chunk first)")
    if chunks[-1][0] != "IEND":
        raise PngFormatError("truncated PNG (no IEND chunk)")
    return chunks


def _ihdr(chunks: list[tuple[str, bytes]]) -> tuple[int, int, int, int, int]:
    """(width, height, bit depth, colour type, interlace) from the IHDR payload."""
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    return width, height, depth, colour, interlace


def _snapshot(data: bytes, chunks: list[tuple[str, bytes]]):
    """Everything that decides how the image looks, as a comparable value.

    8-bit and smaller images compare as RGBA per frame (palette and tRNS
    expanded), so a colour-type reduction still compares equal. 16-bit images
    are recompressed with their IHDR unchanged, so their raw samples compare
    directly; Pillow hands RGB(A) 16-bit images back as 8-bit, so the low bytes
    are decoded in a second pass. Returns None when exact verification is not
    possible (16-bit grey+alpha, animated 16-bit): such files are not touched.
    """
    width, height, depth, colour, _ = _ihdr(chunks)
    if width * height > MAX_PIXELS:
        raise PngFormatError(
            f"{width}x{height} = {width * height} pixels, above the pixel budget of "
            f"{MAX_PIXELS} (4096x4096): not recompressed, to bound memory"
        )
    with _open(data) as im:
        frames = getattr(im, "n_frames", 1)
        if depth == 16:
            if frames > 1 or colour == 4:  # Pillow has no low-byte unpacker for LA
                return None
            im.load()
            return im.mode, im.size, im.tobytes(), _low_bytes(data), dict(chunks).get("tRNS")
        shots = []
        for index in range(frames):
            im.seek(index)
            timing = tuple(im.info.get(k) for k in ("duration", "disposal", "blend"))
            shots.append((timing, im.convert("RGBA").tobytes()))
        return im.size, frames, im.info.get("loop"), shots


def _open(data: bytes) -> ImageFile.ImageFile:
    """Open as PNG only; the pixel limit was already checked on IHDR (_snapshot)."""
    return Image.open(BytesIO(data), formats=["PNG"])


def _low_bytes(data: bytes) -> bytes:
    """The low byte of every 16-bit sample: Pillow's little-endian unpacker
    reads the second byte of each big-endian pair."""
    with _open(data) as im:
        if im.mode == "I;16":  # already decoded at full precision
            return b""
        tile = im.tile[0]
        raw_mode = str(tile.args)  # the PNG plugin's args is the raw mode, e.g. "RGB;16B"
        im.tile = [tile._replace(args=raw_mode.replace(";16B", ";16L"))]
        im.load()
        return im.tobytes()


def _already_optimised(chunks, strip: str) -> bool:
    """True when the file looks done: nothing to strip and an IDAT at least
    3% smaller than zlib -6 makes its own filtered rows (a strong deflater such
    as zopfli has been over it), so oxipng is not worth its time."""
    extra = {k for k, _ in chunks if k[0].islower()} - set(APPEARANCE_CHUNKS)
    if (strip == "safe" and extra) or raw_size(chunks[0][1]) > DONE_CHECK_MAX_RAW:
        return False
    idat = b"".join(p for k, p in chunks if k == "IDAT")
    try:
        raw = zlib.decompress(idat)
    except zlib.error:
        return False
    return len(idat) <= DONE_RATIO * len(zlib.compress(raw, 6))


def _fits_palette(before) -> bool:
    """Whether an 8-bit snapshot is one frame of at most 256 RGBA colours that
    is not opaque grey, so oxipng will turn it into a palette image."""
    size, frames, _, shots = before
    rgba = shots[0][1]
    if frames != 1 or Image.frombytes("RGBA", size, rgba).getcolors(256) is None:
        return False
    return not (rgba[0::4] == rgba[1::4] == rgba[2::4] and not rgba[3::4].strip(b"\xff"))


def _recompress(data: bytes, strip: str, keep_header: bool, palette: bool = False) -> bytes:
    """Run oxipng with the chunk list for `strip`; `keep_header` turns off the
    bit-depth and colour-type reductions (always for 16-bit images, so their
    depth is kept and their samples can be compared directly). Palette and
    <8-bit images, and those that will become one (`palette`), are not filtered."""
    try:
        import oxipng
    except ImportError as exc:  # pragma: no cover - it is a declared dependency
        raise MissingEngine("PNG recompression needs pyoxipng: pip install pyoxipng "
                            '(or set images.png = "off")') from exc
    if strip == "safe":
        chunks = oxipng.StripChunks.keep([c.encode() for c in APPEARANCE_CHUNKS])
    else:
        chunks = oxipng.StripChunks.none()
    options: dict = {}
    if keep_header:
        options = {"bit_depth_reduction": False, "color_type_reduction": False,
                   "grayscale_reduction": False, "palette_reduction": False}
    effort = choose_effort(read_chunks(data), palette)
    return oxipng.optimize_from_memory(
        data, level=OXIPNG_LEVEL, filter=[getattr(oxipng.RowFilter, n) for n in effort.filters],
        strip=chunks, deflate=oxipng.Deflaters.libdeflater(effort.libdeflate), **options)


def _difference(chunks, before, candidate: bytes, strip: str) -> str | None:
    """Why `candidate` may not replace the original, or None when it may."""
    try:
        out_chunks = read_chunks(candidate)
        after = _snapshot(candidate, out_chunks)
    except Exception as exc:
        return f"output does not decode ({exc})"
    # Only the interlace byte of a 16-bit image's header may change (see _snapshot).
    if _ihdr(chunks)[2] == 16 and out_chunks[0][1][:12] != chunks[0][1][:12]:
        return "16-bit depth or colour type changed"
    if after != before:
        return "pixels differ"
    kept = {kind for kind, _ in out_chunks}
    if "sRGB" in kept:  # oxipng may replace an sRGB ICC profile by an sRGB chunk
        kept.add("iCCP")
    wanted = {k for k, _ in chunks if k[0].islower() and k != "tRNS"}  # tRNS is in the pixels
    if strip == "safe":
        wanted &= set(APPEARANCE_CHUNKS)
    missing = sorted(wanted - kept)
    if missing:
        return f"chunks lost: {', '.join(missing)}"
    if [k for k, _ in chunks].count("fcTL") != [k for k, _ in out_chunks].count("fcTL"):
        return "animation frame count changed"
    return None
