"""Focus, sensor noise and JPEG grid: a pasted fragment is never crisper or cleaner than the photo around it.

- blur_sigma: Gaussian blur of the edges in a region, by re-blurring (the gradient peak of a step edge of
  blur s falls by sqrt(s^2 + b^2) / s when blurred again by b).
- noise_sigma: Immerkaer's estimate on the flatter half of a region (texture is not noise).
- match_focus: blur (colour and alpha together) to the ground's focus, or unsharp-mask a fragment that was
  softened by resampling, never one that was enlarged.
- add_noise: seeded Gaussian luminance + chroma noise.
- jpeg_quality / jpeg_match: a photo's JPEG quality from its quantisation tables, and the pasted pixels
  recompressed on the photo's own grid at that quality.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from garbtui.core.compose.realism import Realism
from garbtui.core.workspace.arrays import as_f32, as_u8

REBLUR = 1.0  # sigma of the probing blur
IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)
NOISE_SCALE = 1.4826 / 6.0  # robust sigma (MAD) of the kernel's response per unit of noise sigma
# IJG's luminance quantisation table (quality 50): what libjpeg scales for every quality.
IJG_LUMA = np.array([16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
                     14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
                     92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], np.float64)


def gray_of(rgb: NDArray[np.float32] | NDArray[np.uint8]) -> NDArray[np.float32]:
    """Luma (0..255 float32) of RGB pixels."""
    return as_f32(cv2.cvtColor(rgb.astype(np.float32), cv2.COLOR_RGB2GRAY))


def gradient(gray: NDArray[np.float32]) -> NDArray[np.float32]:
    gx = as_f32(cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3))
    gy = as_f32(cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3))
    return np.sqrt(gx * gx + gy * gy) * np.float32(0.125)


def sigma_from_ratio(r: float) -> float:
    """Blur sigma of an edge whose gradient peak falls by r when blurred again by REBLUR."""
    return 5.0 * REBLUR if r <= 1.02 else REBLUR / math.sqrt(r * r - 1.0)


def blur_sigma(gray: NDArray[np.float32], mask: NDArray[np.bool_], pct: float = 80.0) -> float | None:
    """Blur (px) of the strongest edges inside `mask` (the median over its pct-th percentile gradients)."""
    g = gradient(gray)
    v = g[mask]
    if v.size < 30:
        return None
    sel = mask & (g >= np.percentile(v, pct)) & (g > 0.5)
    if sel.sum() < 10:
        return None
    gb = gradient(as_f32(cv2.GaussianBlur(gray, (0, 0), REBLUR)))
    return sigma_from_ratio(float(np.median(g[sel] / np.maximum(gb[sel], 1e-3))))


def noise_sigma(gray: NDArray[np.float32], mask: NDArray[np.bool_]) -> float | None:
    """Noise sigma (0..255 units) inside `mask`: median |Immerkaer response| over its flatter half."""
    g = gradient(gray)
    v = g[mask]
    if v.size < 30:
        return None
    flat = mask & (g <= np.percentile(v, 50))
    if flat.sum() < 15:
        return None
    r = np.abs(as_f32(cv2.filter2D(gray, -1, IMMERKAER, borderType=cv2.BORDER_REFLECT)))
    return float(np.median(r[flat]) * NOISE_SCALE)


def match_focus(rgb: NDArray[np.float32], alpha: NDArray[np.float32], sigma_bg: float | None, sigma_fg: float | None,
                enlarged: bool, realism: Realism) -> tuple[NDArray[np.float32], NDArray[np.float32], int]:
    """The fragment at the ground's focus: (rgb, alpha, pad). A blurrier ground blurs colour and alpha together
    (premultiplied) by sqrt(bg^2 - fg^2), growing both arrays by `pad` on every side; a sharper ground
    unsharp-masks the colour (alpha untouched, pad 0) unless the fragment was enlarged."""
    if sigma_bg is None or sigma_fg is None:
        return rgb, alpha, 0
    s2 = sigma_bg ** 2 - sigma_fg ** 2
    if s2 < -0.25:
        if enlarged or realism.sharpen <= 0:
            return rgb, alpha, 0
        su = max(0.6, math.sqrt(-s2))
        amount = float(np.clip(2.0 * realism.sharpen * (sigma_fg - sigma_bg) / max(sigma_fg, 1e-3), 0.0,
                               realism.sharpen_max))
        blur = as_f32(cv2.GaussianBlur(rgb, (0, 0), su))
        return np.clip(rgb + np.float32(amount) * (rgb - blur), 0, 255).astype(np.float32), alpha, 0
    if s2 <= 0.09:
        return rgb, alpha, 0
    s = min(realism.blur_max, math.sqrt(s2))
    pad = int(math.ceil(3 * s))
    a = np.pad(alpha, pad)
    pm = np.pad(rgb * (alpha[:, :, None] * np.float32(1.0 / 255.0)), ((pad, pad), (pad, pad), (0, 0)))
    a = as_f32(cv2.GaussianBlur(a, (0, 0), s))
    pm = as_f32(cv2.GaussianBlur(pm, (0, 0), s))
    out = pm / np.maximum(a[:, :, None] * np.float32(1.0 / 255.0), np.float32(1e-3))
    return np.clip(out, 0, 255).astype(np.float32), a, pad


def add_noise(rgb: NDArray[np.float32], sigma: float, rng: np.random.Generator, chroma: float) -> NDArray[np.float32]:
    """rgb plus Gaussian noise: luminance noise of `sigma`, plus chroma x sigma per channel (0..255 units)."""
    if sigma <= 0.05:
        return rgb
    h, w = rgb.shape[:2]
    n = rng.standard_normal((h, w, 1), dtype=np.float32) * np.float32(sigma)
    if chroma > 0:
        n = n + rng.standard_normal((h, w, 3), dtype=np.float32) * np.float32(chroma * sigma)
    return np.clip(rgb + n, 0, 255).astype(np.float32)


def jpeg_quality(path: Path | BinaryIO) -> int | None:
    """The quality a JPEG file was saved at, estimated from its luminance table (None: not a JPEG, or odd tables).

    Sums are compared, so the table's storage order (zigzag or natural) does not matter.
    """
    try:
        with Image.open(path) as im:
            tables = getattr(im, "quantization", None)
    except (OSError, ValueError):
        return None
    if not tables or 0 not in tables or len(tables[0]) != 64:
        return None
    total = float(sum(tables[0]))
    best, err = None, float("inf")
    for q in range(1, 101):
        scale = 5000.0 / q if q < 50 else 200.0 - 2.0 * q
        t = np.clip(np.floor((IJG_LUMA * scale + 50.0) / 100.0), 1, 255).sum()
        if abs(t - total) < err:
            best, err = q, abs(t - total)
    return best if best is not None and err <= 0.1 * total else None


def jpeg_match(canvas: NDArray[np.uint8], x0: int, y0: int, mask: NDArray[np.bool_], quality: int,
               phase: tuple[int, int] = (0, 0)) -> None:
    """Recompress the pixels under `mask` (top-left at x0, y0) on the image's JPEG grid (16 px MCUs starting at
    columns/rows = phase mod 16) at `quality`, in place: they carry the block pattern of the photo around them."""
    H, W = canvas.shape[:2]
    h, w = mask.shape
    px, py = phase
    gx0, gy0 = max(0, (x0 - px) // 16 * 16 + px), max(0, (y0 - py) // 16 * 16 + py)
    gx1, gy1 = min(W, -(-(x0 + w - px) // 16) * 16 + px), min(H, -(-(y0 + h - py) // 16) * 16 + py)
    if gx1 <= gx0 or gy1 <= gy0:
        return
    roi = canvas[gy0:gy1, gx0:gx1]
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(roi[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        return
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if decoded is None:
        return
    dec = as_u8(decoded)[:, :, ::-1]
    m = np.zeros(roi.shape[:2], bool)
    m[y0 - gy0:y0 - gy0 + h, x0 - gx0:x0 - gx0 + w] = mask[:gy1 - y0, :gx1 - x0]
    roi[m] = dec[m]
