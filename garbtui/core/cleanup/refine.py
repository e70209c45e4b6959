"""Mask clean-up and edge refinement: specks, holes, object components, GrabCut at a working size, feathering."""

from __future__ import annotations

import cv2
import numpy as np

# GrabCut runs on the crop resized so its long side is this many pixels: quality barely changes from
# 96 to 160 px on the shared photos while time grows with the square (see bench/mask_quality.py).
WORK_SIDE = 112
GRABCUT_ITERS = 2
MIN_REFINE_SIDE = 4  # thinner crops are not refined: there is no edge to find


def _resize(img: np.ndarray, size: tuple[int, int], nearest: bool = False) -> np.ndarray:
    if (img.shape[1], img.shape[0]) == size:
        return img
    if nearest:
        interp = cv2.INTER_NEAREST
    else:
        interp = cv2.INTER_AREA if size[0] < img.shape[1] else cv2.INTER_LINEAR
    return cv2.resize(img, size, interpolation=interp)


def work_size(shape: tuple[int, int], side: int = WORK_SIDE) -> tuple[int, int]:
    """(width, height) of the working image: long side `side`, small crops scaled up to it too."""
    h, w = shape
    s = side / max(h, w)
    return max(1, round(w * s)), max(1, round(h * s))


def grabcut(rgb: np.ndarray, trimap: np.ndarray, side: int = WORK_SIDE, iters: int = GRABCUT_ITERS) -> np.ndarray | None:
    """Object probability (H x W float32, 0..1) from GrabCut run at working size on an OpenCV trimap.

    `trimap` uses cv2.GC_BGD / GC_FGD / GC_PR_BGD / GC_PR_FGD. Returns None when GrabCut cannot run
    (too thin a crop, or no background / object pixels to model).
    """
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_REFINE_SIDE:
        return None
    bg_like = (trimap == cv2.GC_BGD) | (trimap == cv2.GC_PR_BGD)
    fg_like = (trimap == cv2.GC_FGD) | (trimap == cv2.GC_PR_FGD)
    if not bg_like.any() or not fg_like.any():
        return None
    size = work_size((h, w), side)
    small = _resize(rgb, size)
    mask = _resize(trimap, size, nearest=True).copy()
    if not ((mask == cv2.GC_BGD) | (mask == cv2.GC_PR_BGD)).any() or not ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).any():
        return None
    bgd = np.zeros((1, 65), np.float64)
    fgd = np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(cv2.cvtColor(small, cv2.COLOR_RGB2BGR), mask, None, bgd, fgd, iters, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return None  # GrabCut refuses degenerate colour models (e.g. a single colour); callers fall back
    fg = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.float32)
    return _resize(fg, (w, h)) if (w, h) != size else fg


def trimap_from_priors(object_prior: np.ndarray, sure_bg: np.ndarray) -> np.ndarray:
    """GrabCut trimap: sure background outside the annotation, probable object inside the prior."""
    trimap = np.full(object_prior.shape, cv2.GC_PR_BGD, np.uint8)
    trimap[object_prior] = cv2.GC_PR_FGD
    trimap[sure_bg & ~object_prior] = cv2.GC_BGD
    return trimap


def trimap_around(mask: np.ndarray, band: int) -> np.ndarray:
    """GrabCut trimap that only lets pixels within `band` px of the mask edge change (edge refinement)."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    m = mask.astype(np.uint8)
    inner = cv2.erode(m, kernel).astype(bool)
    outer = cv2.dilate(m, kernel).astype(bool)
    trimap = np.full(mask.shape, cv2.GC_BGD, np.uint8)
    trimap[outer] = cv2.GC_PR_BGD
    trimap[mask] = cv2.GC_PR_FGD
    trimap[inner] = cv2.GC_FGD
    return trimap


def clean_mask(mask: np.ndarray, object_prior: np.ndarray, min_speck: float = 0.002, max_hole: float = 0.01) -> np.ndarray:
    """Drop specks and components that do not touch the object prior; fill small holes.

    `min_speck` and `max_hole` are fractions of the crop area (a speck is also anything under 2% of the
    largest kept component, so a big object does not drag crumbs along).
    """
    h, w = mask.shape
    if not mask.any():
        return mask.copy()
    area = h * w
    n, comp, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    sizes = stats[1:, cv2.CC_STAT_AREA]
    touch = np.bincount(comp[object_prior].ravel(), minlength=n)[1:] if object_prior.any() else sizes
    candidates = touch > 0
    if not candidates.any():
        candidates = sizes == sizes.max()
    largest = sizes[candidates].max()
    good = candidates & (sizes >= max(1.0, min_speck * area, 0.02 * largest))
    if not good.any():
        good = candidates & (sizes == largest)
    lut = np.concatenate([[False], good])
    out = lut[comp]
    # Holes: background components not connected to the crop border.
    inv = (~out).astype(np.uint8)
    n2, comp2, stats2, _ = cv2.connectedComponentsWithStats(inv, connectivity=4)
    if n2 > 1:
        border = np.unique(np.concatenate([comp2[0, :], comp2[-1, :], comp2[:, 0], comp2[:, -1]]))
        fill = np.zeros(n2, dtype=bool)
        fill[1:] = stats2[1:, cv2.CC_STAT_AREA] <= max(1.0, max_hole * area)
        fill[border] = False
        fill[0] = False
        out = out | fill[comp2]
    return out


def feather_alpha(mask: np.ndarray, feather: int) -> np.ndarray:
    """uint8 alpha from a bool mask: 255 inside, a Gaussian edge about `feather` px wide (0 = hard edge).

    The blur is symmetric, so the 50% level stays on the mask boundary and the cutout keeps its size.
    """
    if feather <= 0 or not mask.any():
        return np.where(mask, 255, 0).astype(np.uint8)
    k = 2 * int(np.ceil(2.0 * feather)) + 1
    blurred = cv2.GaussianBlur(mask.astype(np.float32), (k, k), sigmaX=feather * 0.5, borderType=cv2.BORDER_REPLICATE)
    return np.clip(np.rint(blurred * 255.0), 0, 255).astype(np.uint8)
