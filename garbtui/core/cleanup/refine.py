"""Mask clean-up and edge refinement: specks, holes, object components, GrabCut at a working size, feathering."""

from __future__ import annotations

from typing import cast

import cv2
import numpy as np
from numpy.typing import NDArray

# GrabCut runs on the crop resized so its long side is this many pixels (small crops are scaled up:
# GrabCut fails on 20-px crops), for one iteration. Re-tuned on the 187 tune objects of
# bench/mask_quality.py (box prior): 112 px / 2 iterations 0.773, 128 px / 1 iteration 0.778 (0.782 with
# drop_thin_parts); more iterations let the object's colour model drift into the background (5: 0.764).
# With outlines the same setting moves tune 0.872 -> 0.879. Time grows with the square of the side.
WORK_SIDE = 128
GRABCUT_ITERS = 1
MIN_REFINE_SIDE = 4  # thinner crops are not refined: there is no edge to find


def _resize[D: (np.uint8, np.float32)](img: NDArray[D], size: tuple[int, int], nearest: bool = False) -> NDArray[D]:
    """`img` at size (w, h): nearest neighbour for labels, area averaging to shrink, linear to enlarge."""
    if (img.shape[1], img.shape[0]) == size:
        return img
    interp = cv2.INTER_NEAREST if nearest else cv2.INTER_AREA if size[0] < img.shape[1] else cv2.INTER_LINEAR
    return cast("NDArray[D]", cv2.resize(img, size, interpolation=interp))


def work_size(shape: tuple[int, int], side: int) -> tuple[int, int]:
    """(width, height) of the working image: long side `side`, small crops scaled up to it too."""
    h, w = shape
    s = side / max(h, w)
    return max(1, round(w * s)), max(1, round(h * s))


GMM_COMPONENTS = 5  # fixed by OpenCV's GrabCut
# Pixels the initial colour models are fitted on. GrabCut re-learns both models from every pixel before
# it cuts, so the start needs only a sample: fitting on all 16,000 pixels of a 128-px crop cost 4 ms a model.
GMM_SAMPLE = 1024


def gmm_model(pixels: NDArray[np.uint8], seed: int) -> NDArray[np.float64]:
    """An OpenCV GrabCut colour model (1 x 65: weights, means, covariances) fitted with our seeded k-means.

    Initialising GrabCut ourselves (mode GC_EVAL) makes it deterministic (OpenCV would seed its own
    k-means from a global RNG) and skips OpenCV's slower full-pixel k-means. The moments come from
    per-component sums (bincount) of a seeded sample.
    """
    from garbtui.core.cleanup.kmeans import assign, fit_kmeans, sample_rows

    x = pixels[sample_rows(pixels.shape[0], GMM_SAMPLE, seed)].astype(np.float32)
    n = x.shape[0]
    k = GMM_COMPONENTS
    centers = fit_kmeans(x, k, seed)
    lab = assign(x, centers)
    x64 = x.astype(np.float64)
    counts = np.bincount(lab, minlength=k).astype(np.float64)
    sums = np.stack([np.bincount(lab, weights=x64[:, c], minlength=k) for c in range(3)], axis=1)
    products = np.empty((k, 3, 3))
    for i in range(3):
        for j in range(i, 3):
            products[:, i, j] = products[:, j, i] = np.bincount(lab, weights=x64[:, i] * x64[:, j], minlength=k)
    used = counts > 0
    weights = counts / n
    means = np.zeros((k, 3))
    means[used] = sums[used] / counts[used, None]
    covs = np.tile(np.eye(3), (k, 1, 1))
    covs[used] = products[used] / counts[used, None, None] - means[used, :, None] * means[used, None, :]
    covs[used] += np.eye(3) * 0.01  # as OpenCV does, so flat colour patches stay invertible
    return np.concatenate([weights, means.ravel(), covs.ravel()])[None, :]


def _grabcut_small(rgb: NDArray[np.uint8], trimap: NDArray[np.uint8], side: int, iters: int, seed: int
                   ) -> NDArray[np.bool_] | None:
    """GrabCut's object mask at working size (see grabcut), or None when it cannot run."""
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_REFINE_SIDE:
        return None
    size = work_size((h, w), side)
    # GrabCut's colour models and edge weights work in Lab here, as the clustering does: on the shared
    # photos mean IoU 0.865 -> 0.875 and the worst crop 0.47 -> 0.54 (0.54-0.63 over seeds 0-4, k 4-8).
    small = cv2.cvtColor(np.ascontiguousarray(_resize(rgb, size)), cv2.COLOR_RGB2LAB)
    mask = (trimap if trimap.shape == (size[1], size[0]) else _resize(trimap, size, nearest=True)).copy()
    bg_like = (mask == cv2.GC_BGD) | (mask == cv2.GC_PR_BGD)
    fg_like = ~bg_like
    if bg_like.sum() < GMM_COMPONENTS or fg_like.sum() < GMM_COMPONENTS:
        return None
    flat = small.reshape(-1, 3)
    bgd = gmm_model(flat[bg_like.ravel()], seed)
    fgd = gmm_model(flat[fg_like.ravel()], seed + 1)
    try:
        cv2.grabCut(small, mask, None, bgd, fgd, iters, cv2.GC_EVAL)  # type: ignore[call-overload]  # the stubs lack rect=None
    except cv2.error:
        return None  # a degenerate colour model (e.g. one flat colour); callers fall back
    fg: NDArray[np.bool_] = (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
    return fg


def grabcut(
    rgb: NDArray[np.uint8], trimap: NDArray[np.uint8], object_prior: NDArray[np.bool_], *, side: int | None = None,
    iters: int | None = None, seed: int = 0, thin: bool = False,
) -> NDArray[np.bool_] | None:
    """GrabCut's object mask (H x W bool) from an OpenCV trimap, run and cleaned at working size.

    `trimap` uses cv2.GC_BGD / GC_FGD / GC_PR_BGD / GC_PR_FGD, at crop size or already at the working
    size (work_size). The mask is cleaned (clean_mask; with `thin`, drop_thin_parts too) at working size
    and only then brought to crop size: cleaning a 512x512 mask took 15 ms, at 128 px it takes 0.3 ms.
    Returns None when GrabCut cannot run (too thin a crop, or no background / object pixels to model).
    """
    h, w = rgb.shape[:2]
    small = _grabcut_small(rgb, trimap, WORK_SIDE if side is None else side, GRABCUT_ITERS if iters is None else iters, seed)
    if small is None:
        return None
    size = (small.shape[1], small.shape[0])
    prior = _resize(object_prior.astype(np.uint8), size, nearest=True).astype(bool)
    cleaned = clean_mask(small, prior)
    if thin:
        cleaned = drop_thin_parts(cleaned, prior)
    if size == (w, h):
        return cleaned
    # Linear interpolation of the 0/1 mask, cut at one half, gives smooth rather than blocky edges.
    return _resize(cleaned.astype(np.float32), (w, h)) > 0.5


def grabcut_edges(
    rgb: NDArray[np.uint8], mask: NDArray[np.bool_], band_fraction: float, object_prior: NDArray[np.bool_],
    side: int | None = None, seed: int = 0,
) -> NDArray[np.bool_] | None:
    """GrabCut that may only move the edge of `mask`, by `band_fraction` of the long side (see grabcut).

    The band is built at working size, so a large crop costs no more than a small one (eroding a
    4-megapixel mask with a 120-px disc took seconds).
    """
    h, w = mask.shape
    side = WORK_SIDE if side is None else side
    if min(h, w) < MIN_REFINE_SIDE:
        return None
    size = work_size((h, w), side)
    small = cv2.resize(mask.astype(np.uint8) * 255, size, interpolation=cv2.INTER_AREA if size[0] < w else cv2.INTER_NEAREST)
    scale = max(size) / max(h, w)
    band = max(1, round(band_fraction * max(size)), int(np.ceil(scale)))  # at least one crop pixel
    return grabcut(rgb, trimap_around(small >= 128, band), object_prior, side=side, seed=seed)


def trimap_from_priors(object_prior: NDArray[np.bool_], sure_bg: NDArray[np.bool_]) -> NDArray[np.uint8]:
    """GrabCut trimap: sure background outside the annotation, probable object inside the prior."""
    trimap = np.full(object_prior.shape, cv2.GC_PR_BGD, np.uint8)
    trimap[object_prior] = cv2.GC_PR_FGD
    trimap[sure_bg & ~object_prior] = cv2.GC_BGD
    return trimap


def trimap_around(mask: NDArray[np.bool_], band: int) -> NDArray[np.uint8]:
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


def bbox_fit(mask: NDArray[np.bool_], prior: NDArray[np.bool_]) -> float:
    """IoU of the bounding boxes of `mask` and `prior` (0 when either is empty).

    Annotated boxes are tight: an object touches every side of its box. A cutout whose bounds fall
    well short of the box has lost part of the object.
    """
    if not mask.any() or not prior.any():
        return 0.0

    def bounds(m: NDArray[np.bool_]) -> tuple[int, int, int, int]:
        rows = np.flatnonzero(m.any(axis=1))
        cols = np.flatnonzero(m.any(axis=0))
        return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1

    a, b = bounds(mask), bounds(prior)
    iw = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def clean_mask(mask: NDArray[np.bool_], object_prior: NDArray[np.bool_], min_speck: float = 0.002, max_hole: float = 0.01
               ) -> NDArray[np.bool_]:
    """Drop specks and components that do not touch the object prior; fill small holes.

    `min_speck` and `max_hole` are fractions of the crop area (a speck is also anything under 2% of the
    largest kept component, so a big object does not drag crumbs along).
    """
    h, w = mask.shape
    if not mask.any():
        return mask.copy()
    area = h * w
    n, comp, stats = _components(mask, 8)
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
    out: NDArray[np.bool_] = lut[comp]
    # Holes: background components not connected to the crop border.
    n2, comp2, stats2 = _components(~out, 4)
    if n2 > 1:
        border = np.unique(np.concatenate([comp2[0, :], comp2[-1, :], comp2[:, 0], comp2[:, -1]]))
        fill = np.zeros(n2, dtype=bool)
        fill[1:] = stats2[1:, cv2.CC_STAT_AREA] <= max(1.0, max_hole * area)
        fill[border] = False
        fill[0] = False
        out = out | fill[comp2]
    return out


def _components(mask: NDArray[np.bool_], connectivity: int) -> tuple[int, NDArray[np.int32], NDArray[np.int32]]:
    """OpenCV's connected components of a mask: count (background included), label image, per-label stats."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=connectivity)
    return n, cast("NDArray[np.int32]", labels), cast("NDArray[np.int32]", stats)


THIN_PART = 0.01  # drop_thin_parts: strands thinner than about twice this share of the long side


def drop_thin_parts(mask: NDArray[np.bool_], object_prior: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """The mask without strands thinner than ~2% of the crop's long side (grass blades, twigs over the edge).

    A morphological opening, then clean_mask; the opening is refused when it would take half the mask
    (a thin object, such as a straw, is all strand). On the tune objects of bench/mask_quality.py (box
    prior): mean IoU 0.778 -> 0.782, worst 0.19 -> 0.20.
    """
    radius = max(1, round(THIN_PART * max(mask.shape)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    opened = clean_mask(cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, kernel).astype(bool), object_prior)
    return opened if opened.sum() > 0.5 * mask.sum() else mask


def feather_alpha(mask: NDArray[np.bool_], feather: int) -> NDArray[np.uint8]:
    """uint8 alpha from a bool mask: 255 inside, a Gaussian edge about `feather` px wide (0 = hard edge).

    The blur is symmetric, so the 50% level stays on the mask boundary and the cutout keeps its size.
    """
    if feather <= 0 or not mask.any():
        return np.where(mask, 255, 0).astype(np.uint8)
    k = 2 * int(np.ceil(2.0 * feather)) + 1
    blurred = cv2.GaussianBlur(mask.astype(np.float32), (k, k), sigmaX=feather * 0.5, borderType=cv2.BORDER_REPLICATE)
    return np.clip(np.rint(blurred * 255.0), 0, 255).astype(np.uint8)
