"""One realistic paste: a transformed fragment made to look like part of the photo, then alpha-composited.

In order (each step measured on the realism bench, README "Compositing"):
1. alpha by blend mode: `none` hard, `feather`/`poisson` softened inwards in proportion to the object's size;
2. illumination (colour_match): white balance and exposure towards the spot, the object's chroma kept;
3. focus: blurred to the ground's focus at the spot, or sharpened when resampling softened it (never when
   enlarged);
4. sensor noise up to the ground's level;
5. the contact shadow under the object (never labelled), drawn on the ground first;
6. Poisson colours (`poisson`), the alpha composite;
7. the pasted pixels recompressed on the photo's JPEG grid at its quality (native-resolution renders).
The ground's light, focus and noise come from a BackgroundLook measured once per background.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from garbtui.core.compose.blend import alpha_composite, poisson_colors
from garbtui.core.compose.edges import ALPHA_MIN, feather
from garbtui.core.compose.fragment import Transformed, alpha_extent
from garbtui.core.compose.light import apply_shadow, match_illumination, shadow_map
from garbtui.core.compose.look import BackgroundLook, SourceLook, background_look
from garbtui.core.compose.realism import Realism
from garbtui.core.compose.texture import add_noise, blur_sigma, gray_of, jpeg_match, match_focus, noise_sigma

ENLARGED = 1.02  # a fragment scaled beyond this is never sharpened (its old JPEG blocks would show)


@dataclass
class Pasted:
    """Where a paste landed: its alpha (uint8, > 0 = visible) clipped to the canvas, top-left at (x0, y0)."""

    x0: int
    y0: int
    alpha: NDArray[np.uint8]
    clipped: bool  # part of it fell outside the canvas


def shape_alpha(alpha: NDArray[np.float32], blend: str, realism: Realism) -> NDArray[np.float32]:
    """The alpha a blend mode pastes with: `none` hard (255 or 0), `feather` / `poisson` softened inwards by
    sigma = feather_k x sqrt(area), so the object's extent never grows; values under ALPHA_MIN are cut to 0."""
    if blend == "none":
        return np.where(alpha >= 127.5, 255.0, 0.0).astype(np.float32)
    side = math.sqrt(max(1.0, float(np.count_nonzero(alpha >= 127.5))))
    out = feather(alpha, side, realism)
    return np.where(out < ALPHA_MIN - 0.5, 0.0, out).astype(np.float32)


def _seed(crop_id: str, x: float, y: float, index: int) -> int:
    return zlib.crc32(f"{crop_id}|{x:.3f}|{y:.3f}|{index}".encode())


def paste(canvas: NDArray[np.uint8], t: Transformed, blend: str, x: float, y: float, *, source: SourceLook | None,
          look: BackgroundLook | None, color_match: bool, shadow: bool, realism: Realism, seed_key: tuple[str, int]
          ) -> Pasted | str:
    """Paste `t` with the bottom-centre of its visible extent at (x, y) (render pixels), in place. Returns where it
    landed, or why nothing of it shows."""
    a = shape_alpha(t.alpha, blend, realism)
    ext = alpha_extent(a > 0)
    if ext is None:
        return "too small to show a single pixel"
    ex0, ey0, ex1, ey1 = ext
    a = a[ey0:ey1, ex0:ex1]
    rgb = t.rgb[ey0:ey1, ex0:ex1]
    h, w = a.shape
    H, W = canvas.shape[:2]
    ox = int(math.floor(x - w / 2.0 + 0.5))  # whole-pixel offsets keep labels exact
    oy = int(math.floor(y + 0.5)) - h
    if min(W, ox + w) <= max(0, ox) or min(H, oy + h) <= max(0, oy):
        return "entirely outside the image"
    side = math.sqrt(max(1.0, float(np.count_nonzero(a >= 127.5))))
    R = max(6.0, 0.4 * side)
    if look is None:  # no measured background: measure the ground around this spot now
        wx0, wy0 = max(0, int(ox - R)), max(0, int(oy - R))
        local = background_look(canvas[wy0:min(H, int(oy + h + R)), wx0:min(W, int(ox + w + R))], realism=realism)
        spot = local.at(0, 0, W, H)
        look = local
    else:
        spot = look.at(ox - R, oy - R, ox + w + R, oy + h + R)
    weight = a * np.float32(1.0 / 255.0)
    if color_match and source is not None:
        rgb = match_illumination(rgb, weight, source.illuminant, look.illuminant, source.y, spot.y, realism)
    inner: NDArray[np.bool_] | None = None
    if realism.focus or realism.noise > 0:
        inner = cv2.erode((a >= 250).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    gray = gray_of(rgb) if inner is not None else None
    if realism.focus and gray is not None and inner is not None:
        rgb, a, pad = match_focus(rgb, a, spot.blur, blur_sigma(gray, inner), t.scale > ENLARGED, realism)
        if pad:
            ox, oy = ox - pad, oy - pad
            inner = np.pad(inner, pad)
        gray = gray_of(rgb)
    if realism.noise > 0 and gray is not None and inner is not None and spot.noise is not None:
        fg = noise_sigma(gray, inner)
        if fg is not None:
            extra = (realism.noise * spot.noise) ** 2 - fg ** 2
            if extra > 0:
                rng = np.random.default_rng(_seed(seed_key[0], x, y, seed_key[1]))
                rgb = add_noise(rgb, math.sqrt(extra), rng, realism.chroma_noise)
    a8 = np.rint(a).astype(np.uint8)
    a8[a8 < ALPHA_MIN] = 0
    h, w = a8.shape
    cx0, cy0, cx1, cy1 = max(0, ox), max(0, oy), min(W, ox + w), min(H, oy + h)
    if cx1 <= cx0 or cy1 <= cy0:
        return "its visible part is outside the image"
    la = a8[cy0 - oy:cy1 - oy, cx0 - ox:cx1 - ox]
    own = int(np.count_nonzero(la))
    if own == 0:
        return "its visible part is outside the image"
    clipped = own < int(np.count_nonzero(a8))
    if shadow:
        dark, spad = shadow_map(a, side, look.light, realism)
        apply_shadow(canvas, dark, ox - spad, oy - spad)
    lr = rgb[cy0 - oy:cy1 - oy, cx0 - ox:cx1 - ox]
    roi = canvas[cy0:cy1, cx0:cx1]
    if blend == "poisson":
        lr = poisson_colors(roi, lr, la)
    canvas[cy0:cy1, cx0:cx1] = alpha_composite(roi, lr, la)
    if realism.jpeg and look.jpeg_quality is not None:
        jpeg_match(canvas, cx0, cy0, la > 0, look.jpeg_quality, look.grid)
    return Pasted(cx0, cy0, la, clipped)
