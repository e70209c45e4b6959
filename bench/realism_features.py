"""Handcrafted features of one object patch for bench/realism.py: colour, boundary, texture, blur, shadow, JPEG.

Every feature is measured on the render around an object's mask: the object's inner part, thin bands just
inside and outside the outline, a near ring (up to 0.15 sizes out) and a far ring (up to 0.5 sizes out).
Groups (FEATURE_GROUPS) let the bench report which kind of cue gives pastes away.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from numpy.typing import NDArray

FEATURE_GROUPS: dict[str, list[str]] = {
    "colour": ["in_L", "in_a", "in_b", "in_C", "in_Lstd", "in_Cp90", "far_L", "far_C", "d_L", "d_Clog",
               "in_white", "in_black"],
    "boundary": ["gb_far", "gb_in", "step", "halo_out", "halo_in", "halo_C", "gb_p95frac", "gb90_far"],
    "texture": ["noise_in", "noise_far", "noise_ratio", "hp_ratio", "hpC_ratio"],
    "blur": ["sharp_in", "sharp_far", "sharp_ratio", "lap_ratio"],
    "shadow": ["dark_edge", "dark_near", "dark_min", "dark_max", "dark_bottom", "dark_std"],
    "jpeg": ["blk_in", "blk_far", "blk_ratio", "blkmis_in", "blkmis_ratio"],
}
FEATURES = [n for names in FEATURE_GROUPS.values() for n in names]
BACKGROUND_ONLY = ["far_L", "far_C", "sharp_far", "noise_far", "blk_far"]  # what the ground alone says
MIN_AREA = 100


def noise_sigma(L: NDArray[np.float32], m: NDArray[np.bool_]) -> float:
    """Immerkaer's fast noise estimate (Laplacian-difference kernel) inside mask m, robust (median)."""
    k = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)
    r = cv2.filter2D(L, -1, k, borderType=cv2.BORDER_REFLECT)
    v = np.abs(r[m])
    if v.size < 8:
        return float("nan")
    return float(np.median(v) * 1.4826 * math.sqrt(math.pi / 2) / 6.0 / 0.798)


def blockiness(L: NDArray[np.float32], m: NDArray[np.bool_], gx0: int, gy0: int) -> tuple[float, float]:
    """(aligned, best misaligned) JPEG blockiness inside m: mean |2nd difference| across the 8x8 block boundaries
    of the image's own grid (window origin gx0, gy0), and the largest of the same at the other phases, each
    relative to the mean over all phases."""
    d2x = np.abs(L[:, 2:] - 2 * L[:, 1:-1] + L[:, :-2])
    d2y = np.abs(L[2:, :] - 2 * L[1:-1, :] + L[:-2, :])
    mx, my = m[:, 1:-1], m[1:-1, :]
    cols = (np.arange(d2x.shape[1]) + 1 + gx0) % 8
    rows = (np.arange(d2y.shape[0]) + 1 + gy0) % 8
    res = []
    for ph in range(8):
        sx = mx & (cols == ph)[None, :]
        sy = my & (rows == ph)[:, None]
        n = sx.sum() + sy.sum()
        res.append((d2x[sx].sum() + d2y[sy].sum()) / n if n else np.nan)
    arr = np.array(res)
    if np.all(np.isnan(arr)):
        return float("nan"), float("nan")
    base = np.nanmean(arr) + 1e-3
    aligned = 0.5 * (arr[7] + arr[0]) / base  # the boundary between pixel 7 and 8 of a block
    other = np.nanmax([0.5 * (arr[(p - 1) % 8] + arr[p]) for p in range(2, 7)]) / base
    return float(aligned), float(other)


def patch_features(img: NDArray[np.uint8], x0: int, y0: int, mask: NDArray[np.bool_]) -> dict[str, float] | None:
    """Features of the object whose mask is `mask` at (x0, y0) in `img` (RGB uint8, the whole render)."""
    H, W = img.shape[:2]
    area = int(mask.sum())
    if area < MIN_AREA:
        return None
    s = math.sqrt(area)
    R = int(math.ceil(max(12, 0.6 * s)))
    wx0, wy0 = max(0, x0 - R), max(0, y0 - R)
    wx1, wy1 = min(W, x0 + mask.shape[1] + R), min(H, y0 + mask.shape[0] + R)
    win = img[wy0:wy1, wx0:wx1]
    m = np.zeros(win.shape[:2], dtype=np.uint8)
    m[y0 - wy0:y0 - wy0 + mask.shape[0], x0 - wx0:x0 - wx0 + mask.shape[1]] = mask
    lab = cv2.cvtColor(win.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    L, A, B = lab[:, :, 0], lab[:, :, 1], lab[:, :, 2]
    C = np.sqrt(A * A + B * B)
    d_in = cv2.distanceTransform(m, cv2.DIST_L2, 5)
    d_out = cv2.distanceTransform(1 - m, cv2.DIST_L2, 5)
    near_r = max(4.0, 0.15 * s)
    far_r = max(10.0, 0.5 * s)
    inner = d_in > max(2.0, 0.1 * s)
    if inner.sum() < 20:
        inner = m > 0
    edge_in = (d_in > 0) & (d_in <= 2)
    edge_out = (d_out > 0) & (d_out <= 2)
    near = (d_out > 2) & (d_out <= near_r)
    far = (d_out > near_r) & (d_out <= far_r)
    band = ((d_in > 0) & (d_in <= 1.5)) | ((d_out > 0) & (d_out <= 1.5))
    if far.sum() < 30 or edge_out.sum() < 10:
        return None
    gx = cv2.Sobel(L, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(L, cv2.CV_32F, 0, 1, ksize=3) / 8
    g = np.sqrt(gx * gx + gy * gy)
    Lb = cv2.GaussianBlur(L, (0, 0), 1.5)
    gbx = cv2.Sobel(Lb, cv2.CV_32F, 1, 0, ksize=3) / 8
    gby = cv2.Sobel(Lb, cv2.CV_32F, 0, 1, ksize=3) / 8
    gb = np.sqrt(gbx * gbx + gby * gby)
    eps = 1e-3
    f: dict[str, float] = {}
    # colour
    f["in_L"], f["in_a"], f["in_b"] = float(L[inner].mean()), float(A[inner].mean()), float(B[inner].mean())
    f["in_C"] = float(C[inner].mean())
    f["in_Lstd"] = float(L[inner].std())
    f["in_Cp90"] = float(np.percentile(C[inner], 90))
    f["far_L"], f["far_C"] = float(L[far].mean()), float(C[far].mean())
    f["d_L"] = f["in_L"] - f["far_L"]
    f["d_Clog"] = math.log((f["in_C"] + 1) / (f["far_C"] + 1))
    f["in_white"] = float((L[inner] > 97).mean())
    f["in_black"] = float((L[inner] < 3).mean())
    # boundary: gradients on the outline, the colour step across it, halos
    gbd = g[band].mean()
    f["gb_far"] = math.log((gbd + eps) / (g[far].mean() + eps))
    f["gb_in"] = math.log((gbd + eps) / (g[inner].mean() + eps))
    f["step"] = float(np.linalg.norm(lab[edge_in].mean(axis=0) - lab[edge_out].mean(axis=0)) / (L[far].std() + 1.0))
    f["halo_out"] = float(L[edge_out].mean() - L[near].mean()) if near.sum() else 0.0
    f["halo_in"] = float(L[edge_in].mean() - L[inner].mean())
    f["halo_C"] = float(C[edge_out].mean() - C[near].mean()) if near.sum() else 0.0
    f["gb_p95frac"] = float((g[band] > np.percentile(g[far], 95)).mean())
    f["gb90_far"] = math.log((np.percentile(g[band], 90) + eps) / (np.percentile(g[far], 90) + eps))
    # texture / noise
    n_in, n_far = noise_sigma(L, inner), noise_sigma(L, far)
    f["noise_in"], f["noise_far"] = n_in, n_far
    f["noise_ratio"] = math.log((n_in + 0.05) / (n_far + 0.05))
    hp = L - cv2.GaussianBlur(L, (0, 0), 1.0)
    f["hp_ratio"] = math.log((hp[inner].std() + eps) / (hp[far].std() + eps))
    hpC = C - cv2.GaussianBlur(C, (0, 0), 1.0)
    f["hpC_ratio"] = math.log((hpC[inner].std() + eps) / (hpC[far].std() + eps))

    def sharp(mm: NDArray[np.bool_]) -> float:
        """Re-blur ratio at the strongest gradients: sharp edges lose more when blurred again."""
        v = g[mm]
        if v.size < 10:
            return float("nan")
        sel = mm & (g >= np.percentile(v, 80))
        return float(np.mean(g[sel]) / (np.mean(gb[sel]) + eps))

    f["sharp_in"], f["sharp_far"] = sharp(inner), sharp(far)
    f["sharp_ratio"] = math.log((f["sharp_in"] + eps) / (f["sharp_far"] + eps))
    lap = cv2.Laplacian(L, cv2.CV_32F)
    f["lap_ratio"] = math.log(((lap[inner].var() + eps) / (g[inner].var() + eps)) /
                              ((lap[far].var() + eps) / (g[far].var() + eps)))
    # darkness around and under the object, overall and in four sectors
    Lfar = L[far].mean()
    f["dark_edge"] = float(L[edge_out].mean() - Lfar)
    f["dark_near"] = float(L[near].mean() - Lfar) if near.sum() else 0.0
    ys, xs = np.nonzero(m)
    cy, cx = ys.mean(), xs.mean()
    yy, xx = np.mgrid[0:m.shape[0], 0:m.shape[1]]
    ang = np.arctan2(yy - cy, xx - cx)  # 0 = right, pi/2 = down
    ring = (d_out > 0) & (d_out <= near_r)
    secs = []
    for k in range(4):
        sel = ring & (np.abs(np.angle(np.exp(1j * (ang - k * math.pi / 2)))) <= math.pi / 4)
        secs.append(L[sel].mean() - Lfar if sel.sum() >= 5 else f["dark_near"])
    f["dark_min"], f["dark_max"] = float(min(secs)), float(max(secs))
    f["dark_bottom"] = float(secs[1])
    f["dark_std"] = float(np.std(secs))
    # JPEG blockiness on the image's 8x8 grid
    bi, mi = blockiness(L * 2.55, inner, wx0, wy0)
    bf, mf = blockiness(L * 2.55, far, wx0, wy0)
    f["blk_in"], f["blk_far"], f["blk_ratio"] = bi, bf, math.log((bi + eps) / (bf + eps))
    f["blkmis_in"], f["blkmis_ratio"] = mi, math.log((mi + eps) / (mf + eps))
    return {k: (v if np.isfinite(v) else 0.0) for k, v in f.items()}
