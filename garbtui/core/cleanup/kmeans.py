"""A small, deterministic k-means: fitted on a seeded pixel sample, then applied to every pixel."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Clustering:
    """Cluster centres and the cluster index of every pixel. Clusters are ordered dark to light."""

    labels: np.ndarray  # H x W int32
    centers: np.ndarray  # k x D float32
    counts: np.ndarray  # k int64: pixels per cluster

    @property
    def k(self) -> int:
        return int(self.centers.shape[0])


def _sq_dist(x: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances, N x k, via the |x|^2 - 2 x.c + |c|^2 expansion (one matmul)."""
    d = x @ (-2.0 * centers.T)
    d += np.einsum("ij,ij->i", centers, centers)[None, :]
    d += np.einsum("ij,ij->i", x, x)[:, None]
    return d


def _plus_plus(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding; duplicate-only data (fewer distinct points than k) falls back to uniform picks."""
    n = x.shape[0]
    centers = np.empty((k, x.shape[1]), dtype=x.dtype)
    centers[0] = x[rng.integers(n)]
    closest = _sq_dist(x, centers[:1])[:, 0]
    for i in range(1, k):
        np.maximum(closest, 0.0, out=closest)
        total = float(closest.sum())
        idx = int(rng.integers(n)) if total <= 0.0 else int(np.searchsorted(np.cumsum(closest), rng.random() * total))
        centers[i] = x[min(idx, n - 1)]
        np.minimum(closest, _sq_dist(x, centers[i : i + 1])[:, 0], out=closest)
    return centers


def _lloyd(x: np.ndarray, centers: np.ndarray, iters: int, tol: float) -> tuple[np.ndarray, float]:
    k, dim = centers.shape
    for _ in range(iters):
        d = _sq_dist(x, centers)
        lab = d.argmin(axis=1)
        counts = np.bincount(lab, minlength=k)
        new = np.empty_like(centers)
        for j in range(dim):
            new[:, j] = np.bincount(lab, weights=x[:, j], minlength=k)
        empty = counts == 0
        new[~empty] /= counts[~empty, None]
        if empty.any():
            # An empty cluster takes the point worst served by its centre, so k clusters stay in use.
            worst = d[np.arange(x.shape[0]), lab].argsort()[::-1]
            new[empty] = x[worst[: int(empty.sum())]]
        shift = float(np.abs(new - centers).max())
        centers = new
        if shift <= tol:
            break
    d = _sq_dist(x, centers)
    inertia = float(d.min(axis=1).sum())
    return centers, inertia


def fit_kmeans(samples: np.ndarray, k: int, seed: int, n_init: int = 3, iters: int = 30, tol: float = 0.05) -> np.ndarray:
    """Fit k centres on `samples` (N x D float32), best of `n_init` seeded runs. Deterministic for a seed."""
    x = np.asarray(samples, dtype=np.float32)
    if x.shape[0] == 0:
        raise ValueError("no samples to cluster")
    rng = np.random.default_rng(seed)
    best: np.ndarray | None = None
    best_inertia = np.inf
    for _ in range(max(1, n_init)):
        centers, inertia = _lloyd(x, _plus_plus(x, k, rng), iters, tol)
        if inertia < best_inertia:
            best, best_inertia = centers, inertia
    assert best is not None
    return best


def assign(features: np.ndarray, centers: np.ndarray, chunk: int = 1 << 18) -> np.ndarray:
    """Index of the nearest centre for every row of `features` (int32), in chunks to bound memory."""
    n = features.shape[0]
    out = np.empty(n, dtype=np.int32)
    c = centers.astype(np.float32)
    c2 = np.einsum("ij,ij->i", c, c)
    m2 = -2.0 * c.T
    for start in range(0, n, chunk):
        block = features[start : start + chunk]
        # |x|^2 is the same for every centre, so it is left out of the argmin.
        out[start : start + chunk] = (block @ m2 + c2).argmin(axis=1)
    return out


def sample_rows(n: int, size: int, seed: int) -> np.ndarray:
    """Sorted row indices of a seeded sample without replacement (all rows when n <= size)."""
    if n <= size:
        return np.arange(n)
    rng = np.random.default_rng(seed + 0x9E3779B1)
    return np.sort(rng.choice(n, size=size, replace=False))


def cluster_pixels(features: np.ndarray, shape: tuple[int, int], k: int, seed: int, sample_size: int) -> Clustering:
    """Cluster an (H*W) x D feature matrix: fit on a seeded sample, assign all, order clusters by first feature."""
    rows = sample_rows(features.shape[0], sample_size, seed)
    centers = fit_kmeans(features[rows], k, seed)
    order = np.lexsort(centers.T[::-1])  # by lightness first (Lab L / value), ties by the next features
    centers = centers[order]
    labels = assign(features, centers).reshape(shape)
    counts = np.bincount(labels.ravel(), minlength=k).astype(np.int64)
    return Clustering(labels=labels, centers=centers, counts=counts)
