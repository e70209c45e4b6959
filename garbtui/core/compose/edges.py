"""Edges: the old background taken out of a cutout's rim (decontamination), and feathering in proportion to size.

A cutout's outermost pixels mix the object with the ground it was photographed on: pasted elsewhere they
show as a fringe of the old ground (a halo). decontaminate estimates, in a band inside the outline, the
object's local colour F (from the interior) and the old ground's B (from the crop's margin), both by
normalised convolution; where they differ enough, each pixel's alpha is its projection on the F-B line and
its colour the foreground estimate (I - (1 - a) B) / a, pulled towards F at low alpha; where they are alike
the colour is pulled towards F. Alpha is never raised, so a label never grows.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from numpy.typing import NDArray

from garbtui.core.compose.realism import Realism
from garbtui.core.workspace.arrays import as_f32

ALPHA_MIN = 8  # alpha below this (of 255) is cut to 0: every labelled pixel visibly changes the render


def _local_mean(img: NDArray[np.float32], weight: NDArray[np.float32], sigma: float) -> NDArray[np.float32]:
    """The weight-weighted local mean of img (h x w x 3), filled in where weight is 0 (normalised convolution).
    Runs on a reduced grid when sigma is wide: the result is smooth."""
    h, w = weight.shape
    f = max(1, int(sigma / 3.0))
    num = img * weight[:, :, None]
    den = weight
    if f > 1:
        size = (max(1, w // f), max(1, h // f))
        num = as_f32(cv2.resize(num, size, interpolation=cv2.INTER_AREA))
        den = as_f32(cv2.resize(den, size, interpolation=cv2.INTER_AREA))
    num = as_f32(cv2.GaussianBlur(num, (0, 0), sigma / f))
    den = as_f32(cv2.GaussianBlur(den, (0, 0), sigma / f))
    out: NDArray[np.float32] = (num / np.maximum(den, np.float32(1e-4))[:, :, None]).astype(np.float32)
    if f > 1:
        out = as_f32(cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR))
    return out


def decontaminate(raw: NDArray[np.uint8], rgba: NDArray[np.uint8], realism: Realism) -> NDArray[np.uint8]:
    """The cutout `rgba` (same size as its raw crop `raw`) with the old background taken out of its edge."""
    alpha = rgba[:, :, 3]
    m = (alpha > 0).astype(np.uint8)
    area = int(m.sum())
    if area < 16:
        return rgba
    band = max(realism.band_min, realism.band_k * math.sqrt(area))
    d_in = as_f32(cv2.distanceTransform(m, cv2.DIST_L2, 3))
    edge = (m > 0) & (d_in <= band)
    ys, xs = np.nonzero(edge)
    if ys.size == 0:
        return rgba
    sig = 2.0 * band + 2.0
    # Work on the edge band's box plus the reach of the local means: the rest of the cutout is unchanged.
    r = int(math.ceil(3 * sig + band)) + 2
    H, W = m.shape
    y0, y1, x0, x1 = max(0, ys.min() - r), min(H, ys.max() + 1 + r), max(0, xs.min() - r), min(W, xs.max() + 1 + r)
    img = raw[y0:y1, x0:x1].astype(np.float32)
    col = rgba[y0:y1, x0:x1, :3].astype(np.float32)
    a0 = alpha[y0:y1, x0:x1].astype(np.float32) / 255.0
    mm, dd, ee = m[y0:y1, x0:x1], d_in[y0:y1, x0:x1], edge[y0:y1, x0:x1]
    interior = (dd > band).astype(np.float32)
    if interior.sum() < 9:
        interior = (dd > 0.5 * band).astype(np.float32)
    F = _local_mean(col, interior, sig)
    t = np.clip(dd / band, 0.0, 1.0)  # 0 at the outline, 1 inside
    outside = (mm == 0).astype(np.float32)
    new_a = a0
    if outside.sum() < 9:
        w_f = ((1.0 - t) * ee)[:, :, None]
        out = col * (1 - w_f) + F * w_f
    else:
        B = _local_mean(img, outside, sig)
        D = F - B
        den = (D * D).sum(axis=2)
        a = np.clip(((img - B) * D).sum(axis=2) / np.maximum(den, 1e-3), 0.0, 1.0)
        ok = ee & (den >= realism.min_contrast ** 2)
        a = as_f32(cv2.GaussianBlur(a.astype(np.float32), (0, 0), 0.7))
        a_est = np.minimum(1.0, a + t * t * (1.0 - a))  # deeper inside, the outline is trusted more
        new_a = np.where(ok, np.minimum(a0, a_est), a0)
        fg = (img - (1.0 - a_est)[:, :, None] * B) / np.maximum(a_est, 0.05)[:, :, None]
        k = np.clip(a_est / 0.5, 0.0, 1.0)[:, :, None]  # at low alpha the estimate is unstable: use F
        out = np.where(ok[:, :, None], np.clip(k * fg + (1 - k) * F, 0, 255), col)
        weak = ee & ~ok  # F and B alike: the edge colour cannot be separated, pull it towards F a little
        w_f = (0.5 * (1.0 - t) * weak)[:, :, None]
        out = out * (1 - w_f) + F * w_f
    res = rgba.copy()
    a8 = np.rint(new_a * 255.0).astype(np.uint8)
    a8[a8 < ALPHA_MIN] = 0
    res[y0:y1, x0:x1, 3] = np.where(mm > 0, a8, 0)
    res[y0:y1, x0:x1, :3] = np.where(ee[:, :, None], np.clip(np.rint(out), 0, 255), col).astype(np.uint8)
    if not res[:, :, 3].any():
        return rgba
    return res


def feather(alpha: NDArray[np.float32], side: float, realism: Realism) -> NDArray[np.float32]:
    """Alpha softened inwards only, min(alpha, blur(alpha)), sigma = feather_k x side (side = sqrt(area) in px)."""
    sigma = min(realism.feather_max, realism.feather_k * side)
    if sigma < 0.4:
        return alpha
    soft = as_f32(cv2.GaussianBlur(alpha, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT))
    return np.minimum(alpha, soft)
