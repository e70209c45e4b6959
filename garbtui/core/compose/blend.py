"""Blending one fragment into the canvas: hard / feathered alpha, mean-preserving Poisson, colour match, shadow."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from garbtui.core.compose.fragment import mean_lab
from garbtui.core.workspace.arrays import as_f32

# Alpha below this (of 255) is cut to 0, so every labelled pixel visibly changes the render: a 1/255 fringe
# would be in the mask while rounding leaves the photo untouched.
ALPHA_MIN = 8
POISSON_PAD = 6  # background ring around the fragment given to seamlessClone as boundary
L_STRENGTH = 0.6  # how far brightness follows the new surroundings (1 = all the way)
AB_STRENGTH = 0.35  # colour cast follows less: the object's own colour must stay recognisable
WEAK_FACTOR = 0.5  # strengths are halved when the source background is unknown


def shape_alpha(alpha: NDArray[np.float32], mode: str) -> NDArray[np.uint8]:
    """The alpha a blend mode pastes with (uint8): `none` hard-thresholds, `feather`/`poisson` soften inwards.

    Feathering only ever lowers alpha (min with a blurred copy, sigma 1.2 % of the fragment's shorter
    side, at most 3 px), so the object's extent never grows and no halo of foreign background appears
    around it. Fragments under ~40 px are not blurred (their resampled edge is soft already).
    """
    if mode == "none":
        return np.where(alpha >= 127.5, 255, 0).astype(np.uint8)
    h, w = alpha.shape
    sigma = min(0.012 * min(h, w), 3.0)
    if sigma < 0.5:
        # Small (distant) fragments: resampling already softened their edge; more blur would fade them.
        out = np.rint(alpha).astype(np.uint8)
        out[out < ALPHA_MIN] = 0
        return out
    soft = cv2.GaussianBlur(alpha, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
    out = np.minimum(alpha, soft)
    out = np.rint(out).astype(np.uint8)
    out[out < ALPHA_MIN] = 0
    return out


def color_match(
    rgb: NDArray[np.float32],
    alpha: NDArray[np.float32],
    target_lab: tuple[float, float, float] | None,
    source_lab: tuple[float, float, float] | None,
) -> NDArray[np.float32]:
    """Move the fragment's brightness and colour cast part of the way towards its new surroundings.

    With the source background known (the crop margin of raw.png), the change is the illumination
    difference between the old and the new surroundings; otherwise the fragment's own mean stands in,
    at half strength. L is scaled (a gain keeps dark details dark), a/b are shifted.
    """
    if target_lab is None:
        return rgb
    weight = alpha / 255.0
    ref = source_lab
    strength = 1.0
    if ref is None:
        ref = mean_lab(np.clip(rgb, 0, 255), weight)
        strength = WEAK_FACTOR
        if ref is None:
            return rgb
    lab = as_f32(cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab))
    ratio = (target_lab[0] + 5.0) / (ref[0] + 5.0)
    gain = float(np.clip(1.0 + L_STRENGTH * strength * (ratio - 1.0), 0.6, 1.6))
    lab[:, :, 0] = np.clip(lab[:, :, 0] * gain, 0.0, 100.0)
    for ch in (1, 2):
        lab[:, :, ch] += AB_STRENGTH * strength * (target_lab[ch] - ref[ch])
    out = as_f32(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)) * 255.0
    matched: NDArray[np.float32] = np.clip(out, 0.0, 255.0).astype(np.float32)
    return matched


def ring_lab(canvas: NDArray[np.uint8], box: tuple[int, int, int, int], alpha_full: NDArray[np.uint8] | None = None
             ) -> tuple[float, float, float] | None:
    """Mean Lab of the canvas in a ring around `box` (x0, y0, x1, y1, may reach outside the canvas)."""
    H, W = canvas.shape[:2]
    x0, y0, x1, y1 = box
    pw, ph = max(4, (x1 - x0) // 3), max(4, (y1 - y0) // 3)
    rx0, ry0, rx1, ry1 = max(0, x0 - pw), max(0, y0 - ph), min(W, x1 + pw), min(H, y1 + ph)
    if rx1 <= rx0 or ry1 <= ry0:
        return None
    region = canvas[ry0:ry1, rx0:rx1]
    weight = np.ones(region.shape[:2], dtype=np.float32)
    ix0, iy0, ix1, iy1 = max(x0, rx0), max(y0, ry0), min(x1, rx1), min(y1, ry1)
    if ix1 > ix0 and iy1 > iy0:
        if alpha_full is None:
            weight[iy0 - ry0:iy1 - ry0, ix0 - rx0:ix1 - rx0] = 0.0
        else:
            inner = alpha_full[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0]
            weight[iy0 - ry0:iy1 - ry0, ix0 - rx0:ix1 - rx0] = (inner == 0).astype(np.float32)
    return mean_lab(region, weight)


def contact_shadow(canvas: NDArray[np.uint8], x: float, y: float, width: float, height: float, strength: float = 0.45) -> None:
    """Darken an elliptic soft patch under the contact point (in place): the object seems to touch the ground."""
    H, W = canvas.shape[:2]
    ax = max(2.0, 0.55 * width)
    ay = max(1.5, 0.12 * min(height, width))
    sigma = max(1.0, 0.5 * ay)
    pad = int(np.ceil(3 * sigma))
    x0, x1 = int(np.floor(x - ax)) - pad, int(np.ceil(x + ax)) + pad
    y0, y1 = int(np.floor(y - ay)) - pad, int(np.ceil(y + ay)) + pad
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(W, x1), min(H, y1)
    if cx1 <= cx0 or cy1 <= cy0:
        return
    shade = np.zeros((y1 - y0, x1 - x0), dtype=np.float32)
    cv2.ellipse(shade, (int(round(x - x0)), int(round(y - y0 - 0.3 * ay))), (int(round(ax)), int(round(ay))),
                0.0, 0.0, 360.0, 1.0, -1, lineType=cv2.LINE_AA)
    shade = as_f32(cv2.GaussianBlur(shade, (0, 0), sigma))[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0]
    region = canvas[cy0:cy1, cx0:cx1].astype(np.float32)
    region *= (1.0 - strength * shade)[:, :, None]
    canvas[cy0:cy1, cx0:cx1] = np.rint(region).astype(np.uint8)


def alpha_composite(dst: NDArray[np.uint8], rgb: NDArray[np.float32], alpha: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """dst * (1 - a) + rgb * a, rounded once to uint8; pixels with alpha 0 are returned untouched."""
    a = alpha.astype(np.float32)[:, :, None] / 255.0
    out = dst.astype(np.float32) * (1.0 - a) + rgb * a
    res = np.rint(out).astype(np.uint8)
    res[alpha == 0] = dst[alpha == 0]
    return res


def poisson_colors(dst_roi: NDArray[np.uint8], rgb: NDArray[np.float32], alpha: NDArray[np.uint8]) -> NDArray[np.float32]:
    """Seamless-clone colours for the fragment inside `dst_roi` (same size), with the mean colour kept.

    OpenCV's normal clone solves for colours whose gradients are the fragment's and whose border is
    the background: the whole object drifts towards the background's colour. Adding back the
    difference between the fragment's mean and the clone's mean (alpha-weighted) keeps the object's
    colour while the gradient domain still removes seams. Works on the fragment's region only.
    """
    mask = alpha > 0
    if mask.sum() < 9:
        return rgb
    p = POISSON_PAD
    # Reflect-pad so the mask never touches the border (objects clipped at the image edge).
    dst_p = cv2.copyMakeBorder(dst_roi, p, p, p, p, cv2.BORDER_REFLECT)
    src = dst_roi.copy()
    src[mask] = np.clip(np.rint(rgb[mask]), 0, 255).astype(np.uint8)
    src_p = cv2.copyMakeBorder(src, p, p, p, p, cv2.BORDER_REFLECT)
    m = np.zeros(dst_p.shape[:2], dtype=np.uint8)
    m[p:-p, p:-p][mask] = 255
    x, y, w, h = cv2.boundingRect(m)
    center = (x + w // 2, y + h // 2)
    cloned = cv2.seamlessClone(src_p, dst_p, m, center, cv2.NORMAL_CLONE)[p:-p, p:-p].astype(np.float32)
    wgt = (alpha / 255.0)[mask][:, None]
    delta = (rgb[mask] * wgt).sum(axis=0) / wgt.sum() - (cloned[mask] * wgt).sum(axis=0) / wgt.sum()
    out = rgb.copy()
    out[mask] = np.clip(cloned[mask] + delta, 0.0, 255.0)
    return out
