"""Blending one fragment into the canvas: the alpha composite and mean-preserving Poisson colours."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

POISSON_PAD = 6  # background ring around the fragment given to seamlessClone as boundary


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
