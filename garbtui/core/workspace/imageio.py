"""Reading images safely: EXIF orientation applied, size checked before decoding, clear errors."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from garbtui.core.errors import ImageTooLargeError, InputError
from garbtui.core.workspace.arrays import as_u8
from garbtui.core.workspace.jsonfile import open_regular, read_regular

# A 20000x20000 image decodes to 1.2 GB of RGB: refuse it before decoding. Override with GARBTUI_MAX_PIXELS.
DEFAULT_MAX_PIXELS = 120_000_000
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")

# Pillow's own bomb guard would raise its own error type; ours is checked first with a clear message.
Image.MAX_IMAGE_PIXELS = None
cv2.setNumThreads(1)  # predictable speed inside worker processes/threads; numpy does the heavy lifting


def quiet_opencv() -> None:
    """Keep OpenCV's own warnings (a truncated PNG, a bad JPEG marker) off the terminal: garbtui reports
    those files itself, and in the TUI a stray stderr line lands on top of the screen.

    `cv2.utils.logging` is the documented logging API in OpenCV 4 and 5 (the old `cv2.setLogLevel`
    alias is gone in 4.14 / 5.0); a build without it just keeps its default level.
    """
    logging_api = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging_api is not None and hasattr(logging_api, "setLogLevel"):
        logging_api.setLogLevel(logging_api.LOG_LEVEL_ERROR)


def max_pixels() -> int:
    """The pixel limit in force (environment variable GARBTUI_MAX_PIXELS, else the default)."""
    raw = os.environ.get("GARBTUI_MAX_PIXELS", "")
    try:
        return int(raw) if raw else DEFAULT_MAX_PIXELS
    except ValueError:
        return DEFAULT_MAX_PIXELS


def max_image_bytes() -> int:
    """The largest image file read: 8 bytes per allowed pixel (16-bit RGBA, uncompressed), at least 64 MB."""
    return max(64 << 20, 8 * max_pixels())


@dataclass(frozen=True)
class ImageInfo:
    """What the header says: upright size (after EXIF orientation), orientation tag, format."""

    width: int
    height: int
    orientation: int
    format: str
    has_alpha: bool


def probe_image(path: Path, limit: int | None = None) -> ImageInfo:
    """Read only the header of `path`; raise InputError if it is missing, not an image, or too large."""
    path = Path(path)
    limit = max_pixels() if limit is None else limit
    # Only a regular file, opened without blocking: a FIFO or a device in place of a photo is an error.
    fd = open_regular(path, InputError, "image file")
    try:
        with warnings.catch_warnings(), os.fdopen(fd, "rb") as handle:
            warnings.simplefilter("ignore")
            with Image.open(handle) as im:
                width, height = im.size
                # The limit is checked before anything else is read: for a PNG, getexif() decodes the
                # whole image to look for an EXIF chunk after the pixels (a bomb would be decoded).
                if width * height > limit:
                    raise ImageTooLargeError(
                        f"image is {width}x{height} = {width * height / 1e6:.3g} MP, over the limit of "
                        f"{limit / 1e6:.3g} MP (set GARBTUI_MAX_PIXELS to raise it)",
                        where=str(path),
                    )
                fmt = im.format or "?"
                has_alpha = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
                orientation = _orientation(im)
    except UnidentifiedImageError:
        raise InputError("not an image (or one in a format that cannot be read): give a JPEG or PNG photo",
                         where=str(path)) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read image: {exc}", where=str(path)) from None
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return ImageInfo(width, height, orientation if 1 <= orientation <= 8 else 1, fmt, has_alpha)


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation tag, read from the header only (1 when there is none or it is broken)."""
    try:
        if im.format == "PNG":
            # Only an eXIf chunk before the pixels (already parsed by open) is used; one after them
            # would need a full decode, which is what a size-checked probe must never do.
            raw = im.info.get("exif")
            if not raw:
                return 1
            exif = Image.Exif()
            exif.load(raw)
        else:
            exif = im.getexif()
        return int(exif.get(274, 1) or 1)
    except Exception:  # a broken EXIF block must not make the image unreadable
        return 1


def _file_bytes(path: Path) -> NDArray[np.uint8]:
    return np.frombuffer(read_regular(path, InputError, "image file", max_image_bytes()), dtype=np.uint8)


def read_rgb(path: Path, limit: int | None = None) -> NDArray[np.uint8]:
    """Decode `path` as an upright RGB uint8 array (EXIF orientation applied)."""
    return as_u8(cv2.cvtColor(read_bgr(path, limit), cv2.COLOR_BGR2RGB))


def read_bgr(path: Path, limit: int | None = None) -> NDArray[np.uint8]:
    """Decode `path` as an upright BGR uint8 array (OpenCV's order: no conversion cost)."""
    probe_image(path, limit)
    data = _file_bytes(path)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        raise InputError("image data is corrupt or truncated", where=str(path))
    return as_u8(bgr)


def read_rgba(path: Path, limit: int | None = None) -> NDArray[np.uint8]:
    """Decode a PNG with its alpha channel as RGBA uint8 (opaque alpha added when there is none)."""
    probe_image(path, limit)
    data = _file_bytes(path)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise InputError("image data is corrupt or truncated", where=str(path))
    if img.dtype != np.uint8:
        img = (img / 257).astype(np.uint8) if img.dtype == np.uint16 else img.astype(np.uint8)
    if img.ndim == 2:
        return as_u8(cv2.cvtColor(img, cv2.COLOR_GRAY2RGBA))
    if img.shape[2] == 4:
        return as_u8(cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA))
    return as_u8(cv2.cvtColor(img, cv2.COLOR_BGR2RGBA))


def read_gray(path: Path) -> NDArray[np.uint8]:
    """Decode a single-channel mask image as uint8."""
    probe_image(path)
    img = cv2.imdecode(_file_bytes(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise InputError("image data is corrupt or truncated", where=str(path))
    if img.ndim == 3:
        img = img[:, :, 3] if img.shape[2] == 4 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    return img.astype(np.uint8)
