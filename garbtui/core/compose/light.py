"""Light: a photo's illuminant, illumination matching that keeps the object's colours, and the contact shadow.

- photo_illuminant: the colour of the light (the mean of a photo's least saturated pixels, in linear RGB).
- match_illumination: white balance and exposure moved towards the new spot by one multiplicative gain per
  channel (von Kries), so a saturated red stays red; a guard keeps the mean chroma.
- shadow_map / apply_shadow: darkening under a fragment lying on the ground, an ambient-occlusion ring at the
  outline plus a short cast shadow attached to the footprint, multiplied in linear light. Its direction is the
  background's (meta) or straight down: the texture-based direction estimate tried on real litter photos
  agreed with their darkest side no better than "down", so none is estimated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

from garbtui.core.compose.realism import Realism
from garbtui.core.workspace.arrays import as_f32, as_u8

LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)  # linear-light luminance weights (Rec. 709)
GAMMA = 2.2  # sRGB as a power law: a linear gain g is the sRGB gain g ** (1 / 2.2)


def _linear_table() -> NDArray[np.float32]:
    x = np.arange(256, dtype=np.float64) / 255.0
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


LINEAR = _linear_table()  # uint8 sRGB -> linear 0..1


def linear_luminance(pixels: NDArray[np.uint8]) -> float:
    """Mean linear luminance (0..1) of uint8 sRGB pixels (any shape ending in 3)."""
    if pixels.size == 0:
        return 0.0
    lin = LINEAR[pixels.reshape(-1, 3)]
    return float((lin @ LUMA).mean())


def photo_illuminant(rgb: NDArray[np.uint8], share: float = 25.0) -> NDArray[np.float32]:
    """The light's colour in a photo: the mean linear RGB of its least saturated `share` % of pixels ("grey
    pixels": asphalt, concrete, paper), over a <= 400 px thumbnail, clipped and black pixels left out,
    normalised to unit luminance. Grey-world and shades-of-grey estimates read yellow road lines and brown
    dirt as yellow light (a kerb photo in daylight came out R 1.27 : B 0.56); grey pixels gave 1.01 : 1.03."""
    h, w = rgb.shape[:2]
    f = 400.0 / max(h, w)
    small = rgb
    if f < 1.0:
        small = as_u8(cv2.resize(rgb, (max(1, int(w * f)), max(1, int(h * f))), interpolation=cv2.INTER_AREA))
    lin = LINEAR[small.reshape(-1, 3)].astype(np.float64)
    ok = (lin.max(axis=1) < 0.95) & (lin.min(axis=1) > 0.01)
    if ok.sum() > 100:
        lin = lin[ok]
    sat = (lin.max(axis=1) - lin.min(axis=1)) / np.maximum(lin.sum(axis=1), 1e-6)
    e = lin[sat <= np.percentile(sat, share)].mean(axis=0)
    return (e / max(1e-6, float(e @ LUMA))).astype(np.float32)


def mean_chroma(rgb: NDArray[np.float32], weight: NDArray[np.float32]) -> tuple[float, float]:
    """(mean L*, mean chroma C*ab) of sRGB pixels (0..255 floats) weighted by `weight`."""
    lab = as_f32(cv2.cvtColor(np.clip(rgb, 0, 255).astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab))
    total = float(weight.sum()) + 1e-6
    chroma = np.sqrt(lab[..., 1] ** 2 + lab[..., 2] ** 2)
    return float((lab[..., 0] * weight).sum() / total), float((chroma * weight).sum() / total)


def match_illumination(
    rgb: NDArray[np.float32], weight: NDArray[np.float32], src_illum: NDArray[np.float32] | None,
    dst_illum: NDArray[np.float32] | None, src_y: float | None, dst_y: float | None, realism: Realism,
) -> NDArray[np.float32]:
    """The fragment's colours under the new spot's light: white balance by (dst / src illuminant) ** white_balance
    (each channel within white_balance_max of 1: the estimates read a photo's content as light too) and
    exposure by (dst_y / src_y) ** exposure (mean linear luminance of the new and the old surroundings), as
    one gain per channel. A multiplicative gain keeps saturation; should the mean chroma still fall under
    chroma_keep x the source's (unless the object was made darker, then in proportion), it is raised back."""
    gain = np.ones(3, np.float32)
    if src_illum is not None and dst_illum is not None and realism.white_balance > 0:
        wb = np.power(dst_illum / np.maximum(src_illum, 1e-4), realism.white_balance).astype(np.float32)
        wb = np.clip(wb / max(1e-6, float(wb @ LUMA)), 1.0 - realism.white_balance_max, 1.0 + realism.white_balance_max)
        gain *= wb / max(1e-6, float(wb @ LUMA))
    exposure = 1.0
    if src_y and dst_y and realism.exposure > 0:
        exposure = float(np.clip((dst_y / src_y) ** realism.exposure, realism.exposure_min, realism.exposure_max))
    g = np.power(gain * exposure, 1.0 / GAMMA).astype(np.float32)
    if exposure > 1.0 and weight.sum() > 0:
        # Brightening stops short of clipping the object's highlights: a clipped channel loses its colour.
        top = float(np.percentile(rgb.max(axis=2)[weight > 0.5], 99)) if (weight > 0.5).any() else 255.0
        g *= np.float32(min(1.0, max(1.0 / float(g.max()), 250.0 / max(1.0, top * float(g.max())))))
    if np.allclose(g, 1.0, atol=1e-3):
        return rgb
    out: NDArray[np.float32] = np.minimum(rgb * g, 255.0).astype(np.float32)
    if weight.sum() <= 0 or realism.chroma_keep <= 0:
        return out
    step = max(1, int(math.sqrt(weight.size / 4000.0)))  # a mean needs no more than ~4k pixels
    ws = weight[::step, ::step]
    l0, c0 = mean_chroma(rgb[::step, ::step], ws)
    l1, c1 = mean_chroma(out[::step, ::step], ws)
    want = realism.chroma_keep * c0 * min(1.0, (l1 + 1.0) / (l0 + 1.0))
    if 1e-3 < c1 < want:
        lab = as_f32(cv2.cvtColor(out / 255.0, cv2.COLOR_RGB2Lab))
        lab[..., 1:] *= want / c1
        out = np.clip(as_f32(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)) * 255.0, 0, 255).astype(np.float32)
    return out


@dataclass(frozen=True)
class Light:
    """Where shadows fall (unit vector in image coordinates, from the object towards its shadow) and how dark a
    cast shadow is (0..1)."""

    dx: float = 0.0
    dy: float = 1.0
    strength: float = 0.35


class LightSource(Protocol):
    """Where a background's light is written: its meta.json, or a generate recipe that copied it from there."""

    @property
    def shadow_direction(self) -> float | None: ...

    @property
    def shadow_strength(self) -> float | None: ...


def light_of(meta: LightSource | None, realism: Realism) -> Light:
    """The background's light as its meta gives it (shadow_direction in degrees, 90 = down), else straight down."""
    strength = realism.cast
    angle = 90.0
    if meta is not None:
        if meta.shadow_strength is not None:
            strength = float(meta.shadow_strength)
        if meta.shadow_direction is not None:
            angle = float(meta.shadow_direction)
    rad = math.radians(angle)
    return Light(math.cos(rad), math.sin(rad), strength)


def shadow_map(alpha: NDArray[np.float32], side: float, light: Light, realism: Realism
               ) -> tuple[NDArray[np.float32], int]:
    """Darkening (0..1) around a fragment lying on the ground, on alpha's grid padded by the returned margin.

    Ambient occlusion: alpha blurred by ao_k x side, strength ao. Cast shadow: alpha moved cast_k x side along
    the light, kept attached (max with the footprint), blurred by softness x side, strength light.strength.
    Both start at the outline, so a shadow is never offset into the air. Wide blurs run on a reduced grid.
    """
    s_ao = max(0.8, realism.ao_k * side)
    s_cast = max(0.8, realism.softness * side)
    off = realism.cast_k * side
    pad = int(math.ceil(3 * max(s_ao, s_cast) + off)) + 1
    a = np.pad(alpha * np.float32(1.0 / 255.0), pad)
    f = max(1, int(min(s_ao, s_cast) / 1.5))
    small = a if f == 1 else as_f32(cv2.resize(a, (max(1, a.shape[1] // f), max(1, a.shape[0] // f)),
                                               interpolation=cv2.INTER_AREA))
    occ = as_f32(cv2.GaussianBlur(small, (0, 0), s_ao / f))
    dark = np.clip(2.0 * occ, 0.0, 1.0) * np.float32(realism.ao)
    if light.strength > 0:
        m = np.array([[1, 0, light.dx * off / f], [0, 1, light.dy * off / f]], np.float32)
        moved = as_f32(cv2.warpAffine(small, m, (small.shape[1], small.shape[0]), flags=cv2.INTER_LINEAR))
        cast = as_f32(cv2.GaussianBlur(np.maximum(moved, small), (0, 0), s_cast / f)) * np.float32(light.strength)
        dark = 1.0 - (1.0 - dark) * (1.0 - cast)
    if f > 1:
        dark = as_f32(cv2.resize(dark, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_LINEAR))
    return dark.astype(np.float32), pad


def apply_shadow(canvas: NDArray[np.uint8], dark: NDArray[np.float32], ox: int, oy: int) -> None:
    """Multiply `canvas` (in place) by 1 - dark in linear light, dark's top-left corner at (ox, oy)."""
    H, W = canvas.shape[:2]
    h, w = dark.shape
    x0, y0, x1, y1 = max(0, ox), max(0, oy), min(W, ox + w), min(H, oy + h)
    if x1 <= x0 or y1 <= y0:
        return
    d = dark[y0 - oy:y1 - oy, x0 - ox:x1 - ox]
    factor = np.power(np.clip(1.0 - d, 0.0, 1.0), 1.0 / GAMMA).astype(np.float32)
    roi = canvas[y0:y1, x0:x1]
    canvas[y0:y1, x0:x1] = np.rint(roi.astype(np.float32) * factor[:, :, None]).astype(np.uint8)
