"""Which clusters are garbage: compare each cluster's share inside the object prior with the background."""

from __future__ import annotations

import numpy as np

# A cluster is garbage when more than half of its pixels inside the object prior are estimated to be object.
KEEP_THRESHOLD = 0.5


def fallback_background(shape: tuple[int, int]) -> np.ndarray:
    """A thin ring along the crop border: weak background evidence for crops cut with no margin."""
    h, w = shape
    ring = np.zeros((h, w), dtype=bool)
    t = max(1, round(0.04 * min(h, w)))
    if h <= 2 * t or w <= 2 * t:
        return ring  # too thin to have a border that is not also the object
    ring[:t, :] = ring[-t:, :] = True
    ring[:, :t] = ring[:, -t:] = True
    return ring


def object_fraction(labels: np.ndarray, k: int, object_prior: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Estimated fraction of object pixels, per cluster, among that cluster's pixels inside the object prior.

    The object prior holds the object plus some background (a box is loose); the background sample tells
    how background colours spread over the clusters. With `a` the object share of the prior,
    p_in(c) = a * p_obj(c) + (1 - a) * p_bg(c); `a` is found by a short fixed-point iteration.
    """
    n_in = np.bincount(labels[object_prior].ravel(), minlength=k).astype(np.float64)
    n_bg = np.bincount(labels[background].ravel(), minlength=k).astype(np.float64)
    if n_in.sum() == 0:
        return np.zeros(k)
    p_in = n_in / n_in.sum()
    if n_bg.sum() == 0:
        return np.ones(k)  # no background evidence at all: everything inside the prior is object
    p_bg = n_bg / n_bg.sum()
    ratio = p_bg / np.maximum(p_in, 1e-12)
    a = 0.6
    for _ in range(30):
        frac = np.clip(1.0 - (1.0 - a) * ratio, 0.0, 1.0)
        new_a = float((p_in * frac).sum())
        if abs(new_a - a) < 1e-4:
            break
        a = new_a
    return np.clip(1.0 - (1.0 - a) * ratio, 0.0, 1.0)


def choose_keep(fraction: np.ndarray) -> list[int]:
    """Clusters whose estimated object fraction passes the threshold; at least the most object-like one."""
    keep = [int(i) for i in np.flatnonzero(fraction > KEEP_THRESHOLD)]
    if not keep and fraction.size:
        keep = [int(fraction.argmax())]
    return keep


def keep_from_mask(labels: np.ndarray, k: int, mask: np.ndarray, where: np.ndarray | None = None) -> list[int]:
    """Clusters with most of their pixels (inside `where`) in `mask`: the clusters a final mask keeps."""
    sel = labels if where is None else labels[where]
    m = mask if where is None else mask[where]
    total = np.bincount(sel.ravel(), minlength=k)
    inside = np.bincount(sel[m].ravel(), minlength=k)
    return [int(i) for i in np.flatnonzero((total > 0) & (inside * 2 > total))]
