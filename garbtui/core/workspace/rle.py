"""Run-length mask codecs: Label Studio brush RLE (decode) and COCO RLE (encode and decode).

The one COCO encoder garbtui has: scene labels and generated datasets both call encode_window_rle.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

import numpy as np
from numpy.typing import NDArray

from garbtui.core.errors import InputError
from garbtui.core.workspace.imageio import max_pixels


class CocoRle(TypedDict):
    """A COCO RLE mask: size [height, width] and column-major run lengths, as a list or compressed string."""

    size: list[int]
    counts: list[int] | str


class _Bits:
    """Reads big-endian bit fields from a byte string, as Label Studio's brush encoder wrote them."""

    def __init__(self, data: bytes) -> None:
        self.bits = np.unpackbits(np.frombuffer(bytes(data), dtype=np.uint8))
        self.pos = 0

    def read(self, size: int) -> int:
        end = self.pos + size
        if end > self.bits.size:
            raise InputError("brush RLE is truncated")
        chunk = self.bits[self.pos:end]
        self.pos = end
        value = 0
        for bit in chunk:
            value = (value << 1) | int(bit)
        return value


def decode_ls_rle(rle: list[int], width: int, height: int) -> NDArray[np.uint8]:
    """Decode Label Studio brush RLE into an RGBA uint8 array (height x width x 4).

    Same format as label_studio_sdk.converter.brush.decode_rle (tested against it): a 32-bit value
    count, a 5-bit word size, four 4-bit run-length field sizes, then runs of repeated or literal words.
    """
    try:
        data = bytes(int(v) & 0xFF for v in rle)
    except (TypeError, ValueError, OverflowError):
        raise InputError("brush RLE is not a list of integers") from None
    _check_mask_size(width, height, "brush mask")
    stream = _Bits(data)
    num = stream.read(32)
    word_size = stream.read(5) + 1
    rle_sizes = [stream.read(4) + 1 for _ in range(4)]
    if num != width * height * 4:
        raise InputError(f"brush RLE holds {num} values, expected {width}x{height}x4 = {width * height * 4}")
    out = np.zeros(num, dtype=np.uint8)
    i = 0
    while i < num:
        repeated = stream.read(1)
        j = i + 1 + stream.read(rle_sizes[stream.read(2)])
        if j > num:
            raise InputError("brush RLE runs past the end of the mask")
        if repeated:
            out[i:j] = stream.read(word_size)
        else:
            for n in range(i, j):
                out[n] = stream.read(word_size)
        i = j
    return out.reshape(height, width, 4)


def _check_mask_size(width: int, height: int, what: str) -> None:
    """Refuse a mask size before allocating it: an export can claim any size (decompression-bomb guard)."""
    if width < 1 or height < 1:
        raise InputError(f"{what} has size {width}x{height}")
    limit = max_pixels()
    if width * height > limit:
        raise InputError(f"{what} of {width}x{height} is over the limit of {limit / 1e6:.3g} MP "
                         "(set GARBTUI_MAX_PIXELS to raise it)")


def coco_rle_encode(mask: NDArray[np.bool_]) -> CocoRle:
    """Encode a bool mask as COCO uncompressed RLE ({"size": [h, w], "counts": [...]}, column-major)."""
    if mask.size == 0:
        return {"size": list(mask.shape), "counts": []}
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": _column_runs(mask)}


def _column_runs(mask: NDArray[np.bool_]) -> list[int]:
    """Column-major run lengths of a mask, starting with a (possibly empty) run of zeros; [] when it is empty."""
    flat = np.asarray(mask, dtype=np.uint8).flatten(order="F")
    if flat.size == 0:
        return []
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate(([0], change, [flat.size]))
    runs = [int(r) for r in np.diff(bounds)]
    return [0, *runs] if flat[0] == 1 else runs


def coco_rle_decode(rle: Mapping[str, Any]) -> NDArray[np.bool_]:
    """Decode COCO RLE (uncompressed list counts or compressed string counts) into a bool mask."""
    try:
        h, w = (int(v) for v in rle["size"])
        counts = rle["counts"]
    except (KeyError, TypeError, ValueError, OverflowError):
        raise InputError("COCO RLE needs 'size' [h, w] and 'counts'") from None
    _check_mask_size(w, h, "COCO RLE mask")
    try:
        if isinstance(counts, str):
            counts = _decode_compressed_counts(counts)
        runs = [int(run) for run in counts]
    except (TypeError, ValueError, OverflowError):  # counts of the wrong type, or non-ASCII compressed text
        raise InputError("COCO RLE 'counts' is neither a list of integers nor a compressed string") from None
    flat = np.zeros(h * w, dtype=np.uint8)
    pos, value = 0, 0
    for run in runs:
        if run < 0 or pos + run > flat.size:
            raise InputError("COCO RLE counts do not fit its size")
        flat[pos:pos + run] = value
        pos += run
        value ^= 1
    return flat.reshape((h, w), order="F").astype(bool)


def _decode_compressed_counts(text: str) -> list[int]:
    """COCO's compressed counts: 6-bit chunks with a continuation bit, deltas from the run two back."""
    counts: list[int] = []
    p = 0
    data = text.encode("ascii")
    while p < len(data):
        x, k, more = 0, 0, True
        while more:
            if p >= len(data):
                raise InputError("COCO compressed RLE is truncated")
            c = data[p] - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def window_rle_counts(mask: NDArray[np.bool_], offset: tuple[int, int], size: tuple[int, int]) -> list[int]:
    """Uncompressed COCO RLE counts of a full-size (w, h) mask that is zero outside the window at offset.

    Column-major runs are computed on a full-height strip of the window's columns only; the empty
    columns before and after just lengthen the first and last zero runs.
    """
    w, h = size
    x0, y0 = offset
    mh, mw = mask.shape
    strip = np.zeros((h, mw), dtype=bool)
    strip[y0:y0 + mh] = mask
    counts = _column_runs(strip)
    counts[0] += x0 * h
    tail = (w - x0 - mw) * h
    if tail:
        if len(counts) % 2 == 1:  # the last run is a zero run
            counts[-1] += tail
        else:
            counts.append(tail)
    return counts


def compress_counts(counts: list[int]) -> str:
    """COCO's compressed RLE string (as pycocotools' rleToString): deltas from two runs back, 5-bit chunks."""
    out = bytearray()
    for i, c in enumerate(counts):
        x = int(c) - (int(counts[i - 2]) if i > 2 else 0)
        more = True
        while more:
            ch = x & 0x1F
            x >>= 5
            more = not ((x == 0 and not ch & 0x10) or (x == -1 and ch & 0x10))
            if more:
                ch |= 0x20
            out.append(ch + 48)
    return out.decode("ascii")


def encode_window_rle(mask: NDArray[np.bool_], offset: tuple[int, int], size: tuple[int, int]) -> CocoRle:
    """COCO compressed RLE ({"size": [h, w], "counts": str}) of a (w, h) image's mask, given as a window.

    The bytes pycocotools' mask.encode gives for the full mask (tests/unit/test_rle.py), without
    building the full-size mask or needing pycocotools at run time.
    """
    w, h = size
    return {"size": [int(h), int(w)], "counts": compress_counts(window_rle_counts(mask, offset, size))}
