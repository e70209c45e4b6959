"""What a paste needs to know of a background and of a fragment's source, measured once and cached.

BackgroundLook (once per background at the render size): the photo's illuminant, maps of local brightness,
focus (blur sigma) and noise on a grid of tiles, the photo's JPEG quality and grid when the render is at
its native resolution, and the light. A paste reads the tiles around its spot instead of measuring a ring
around every object. look_of caches it on the (read-only) background array a render cache hands out, so
generating thousands of images from a few backgrounds measures each once per process.

SourceLook (once per fragment): the mean Lab and linear luminance of its source surroundings (the raw
crop's margin) and the illuminant of its source photo.
"""

from __future__ import annotations

import math
import statistics
import threading
import warnings
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from garbtui.core.compose.light import LINEAR, LUMA, Light, LightSource, light_of, photo_illuminant
from garbtui.core.compose.realism import REALISTIC, Realism
from garbtui.core.compose.texture import IMMERKAER, NOISE_SCALE, REBLUR, gradient, gray_of, jpeg_quality
from garbtui.core.workspace.arrays import as_f32, as_u8
from garbtui.core.workspace.store import FileStamp

LOOK_CACHE_SIZE = 16  # background looks kept per process (a few backgrounds at a few sizes)
SOURCE_CACHE_SIZE = 256  # source-photo illuminants kept per process


@dataclass(frozen=True)
class Spot:
    """The ground around one paste: mean linear luminance, blur sigma and noise sigma (None: not measurable)."""

    y: float
    blur: float | None
    noise: float | None


@dataclass(frozen=True)
class BackgroundLook:
    """A background's light and texture at render size (see the module docstring)."""

    illuminant: NDArray[np.float32]
    tile: int
    y_map: NDArray[np.float32]  # per tile: mean linear luminance
    blur_map: NDArray[np.float32]  # per tile: blur sigma (NaN: no strong edge in it)
    noise_map: NDArray[np.float32]  # per tile: noise sigma (NaN: too little flat ground)
    blur_all: float | None
    noise_all: float | None
    jpeg_quality: int | None = None  # the photo's own quality, when the render keeps its 8x8 grid
    grid: tuple[int, int] = (0, 0)  # where that grid starts (column, row) mod 16
    light: Light = Light()

    def at(self, x0: float, y0: float, x1: float, y1: float) -> Spot:
        """The ground inside the box (render pixels; clipped to the image)."""
        ny, nx = self.y_map.shape
        t = self.tile
        # Plain Python on scalars and the few tiles of one spot: numpy's per-call cost dominated a paste here.
        c0, c1 = min(max(int(x0 // t), 0), nx - 1), min(max(math.ceil(x1 / t), 1), nx)
        r0, r1 = min(max(int(y0 // t), 0), ny - 1), min(max(math.ceil(y1 / t), 1), ny)
        c1, r1 = max(c1, c0 + 1), max(r1, r0 + 1)
        blur = [v for v in self.blur_map[r0:r1, c0:c1].ravel().tolist() if math.isfinite(v)]
        noise = [v for v in self.noise_map[r0:r1, c0:c1].ravel().tolist() if math.isfinite(v)]
        b = float(statistics.median(blur)) if blur else self.blur_all
        n = float(statistics.median(noise)) if noise else self.noise_all
        return Spot(float(self.y_map[r0:r1, c0:c1].mean()), b, n)


def _tiles(a: NDArray[np.float32], t: int) -> NDArray[np.float32]:
    """(ny, nx, t*t) view of an array whose sides are multiples of t."""
    h, w = a.shape
    return a.reshape(h // t, t, w // t, t).transpose(0, 2, 1, 3).reshape(h // t, w // t, t * t)


def background_look(rgb: NDArray[np.uint8], *, meta: LightSource | None = None, jpeg_quality: int | None = None,
                    grid: tuple[int, int] = (0, 0), realism: Realism = REALISTIC) -> BackgroundLook:
    """Measure a background at render size (one pass over the image; tens of ms at 1920x1080)."""
    H, W = rgb.shape[:2]
    t = int(np.clip(min(H, W) // 16, 12, 64))
    ph, pw = -H % t, -W % t
    img = as_u8(cv2.copyMakeBorder(rgb, 0, ph, 0, pw, cv2.BORDER_REFLECT)) if ph or pw else rgb
    gray = gray_of(img)
    y_lin = LINEAR[img] @ LUMA
    ny, nx = img.shape[0] // t, img.shape[1] // t
    y_map = as_f32(cv2.resize(y_lin.astype(np.float32), (nx, ny), interpolation=cv2.INTER_AREA))
    g = gradient(gray)
    gb = gradient(as_f32(cv2.GaussianBlur(gray, (0, 0), REBLUR)))
    r = np.abs(as_f32(cv2.filter2D(gray, -1, IMMERKAER, borderType=cv2.BORDER_REFLECT)))
    gt, gbt, rt = _tiles(g, t), _tiles(gb, t), _tiles(r, t)
    p80 = np.percentile(gt, 80, axis=2, keepdims=True)
    strong = (gt >= p80) & (gt > 0.5)
    ratio = np.where(strong, gt / np.maximum(gbt, 1e-3), np.nan)
    enough = strong.sum(axis=2) >= max(10, t * t // 50)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # tiles without a strong edge or flat ground: NaN
        med = np.nanmedian(np.where(enough[:, :, None], ratio, np.nan), axis=2)
    with np.errstate(all="ignore"):
        sig = np.where(med <= 1.02, 5.0 * REBLUR, REBLUR / np.sqrt(np.maximum(med * med - 1.0, 1e-6)))
    blur_map = np.where(np.isfinite(med), sig, np.nan).astype(np.float32)  # as sigma_from_ratio, per tile
    p50 = np.percentile(gt, 50, axis=2, keepdims=True)
    flat = np.where(gt <= p50, rt, np.nan)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        noise_map = (np.nanmedian(flat, axis=2) * NOISE_SCALE).astype(np.float32)
    blur_all = float(np.nanmedian(blur_map)) if np.isfinite(blur_map).any() else None
    noise_all = float(np.nanmedian(noise_map)) if np.isfinite(noise_map).any() else None
    return BackgroundLook(photo_illuminant(rgb), t, y_map, blur_map, noise_map, blur_all, noise_all, jpeg_quality,
                          (grid[0] % 16, grid[1] % 16), light_of(meta, realism))


_LOOKS: OrderedDict[tuple[int, object], tuple[weakref.ref[NDArray[np.uint8]], BackgroundLook]] = OrderedDict()
_LOCK = threading.Lock()


def look_of(rgb: NDArray[np.uint8], *, meta: LightSource | None = None, photo: Path | None = None,
            grid: tuple[int, int] = (0, 0), realism: Realism = REALISTIC, quality: int | None = None) -> BackgroundLook:
    """background_look, cached on the array itself (its identity, while it lives): pass the read-only
    background a render cache keeps, never a canvas being drawn on. `photo`: the JPEG file these pixels are at
    native resolution (its grid starting at `grid`), whose quality the pasted pixels are recompressed at."""
    light = None if meta is None else (meta.shadow_direction, meta.shadow_strength)
    key = (id(rgb), (light, None if photo is None else str(photo), grid, realism, quality))
    with _LOCK:
        hit = _LOOKS.get(key)
        if hit is not None and hit[0]() is rgb:
            _LOOKS.move_to_end(key)
            return hit[1]
    if photo is not None:
        quality = jpeg_quality(photo)
    look = background_look(rgb, meta=meta, jpeg_quality=quality, grid=grid, realism=realism)
    with _LOCK:
        _LOOKS[key] = (weakref.ref(rgb), look)
        while len(_LOOKS) > LOOK_CACHE_SIZE:
            _LOOKS.popitem(last=False)
    return look


# -- a fragment's source --------------------------------------------------------------------------------
@dataclass(frozen=True)
class SourceLook:
    """A fragment's old surroundings: mean Lab and linear luminance of the raw crop's margin, and the light
    colour of the whole source photo (None where unknown)."""

    bg_lab: tuple[float, float, float] | None = None
    y: float | None = None
    illuminant: NDArray[np.float32] | None = None


_SOURCES: OrderedDict[tuple[str, FileStamp | None], NDArray[np.float32] | None] = OrderedDict()


def source_illuminant(path: Path) -> NDArray[np.float32] | None:
    """The illuminant of a source photo, decoded at 1/8 size (cached per file version); None when unreadable."""
    stamp = FileStamp.of(path)
    key = (str(path), stamp)
    with _LOCK:
        if key in _SOURCES:
            return _SOURCES[key]
    value = None
    if stamp is not None:
        bgr = cv2.imread(str(path), cv2.IMREAD_REDUCED_COLOR_8)
        if bgr is not None and bgr.size:
            value = photo_illuminant(np.ascontiguousarray(as_u8(bgr)[:, :, ::-1]))
    with _LOCK:
        _SOURCES[key] = value
        while len(_SOURCES) > SOURCE_CACHE_SIZE:
            _SOURCES.popitem(last=False)
    return value
