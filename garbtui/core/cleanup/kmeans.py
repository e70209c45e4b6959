"""A small, deterministic k-means: fitted on a seeded pixel sample, then applied to every pixel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Clustering:
    """Cluster centres and the cluster index of every pixel. Clusters are ordered dark to light."""

    labels: NDArray[np.int32]  # H x W
    centers: NDArray[np.float32]  # k x D
    counts: NDArray[np.int64]  # k: pixels per cluster

    @property
    def k(self) -> int:
        return int(self.centers.shape[0])


def _sq_dist(x: NDArray[np.float32], centers: NDArray[np.float32], x2: NDArray[np.float32] | None = None
             ) -> NDArray[np.float32]:
    """Squared Euclidean distances, N x k, via the |x|^2 - 2 x.c + |c|^2 expansion (one matmul).

    `x2`: |x|^2 per row when the caller already has it (seeding asks for distances to x many times).
    """
    d = x @ (-2.0 * centers.T)
    d += np.einsum("ij,ij->i", centers, centers)[None, :]
    d += (np.einsum("ij,ij->i", x, x) if x2 is None else x2)[:, None]
    return d


def _plus_plus(x: NDArray[np.float32], k: int, rng: np.random.Generator) -> NDArray[np.float32]:
    """Greedy k-means++ seeding (as scikit-learn: the best of 2 + log k candidates per centre).

    Data with fewer distinct points than k falls back to uniform picks once every point is a centre.
    """
    n = x.shape[0]
    trials = 2 + int(np.log(k))
    centers = np.empty((k, x.shape[1]), dtype=x.dtype)
    centers[0] = x[rng.integers(n)]
    x2 = np.einsum("ij,ij->i", x, x)
    closest = np.maximum(_sq_dist(x, centers[:1], x2)[:, 0], 0.0)
    for i in range(1, k):
        total = float(closest.sum())
        drawn = rng.integers(n, size=trials) if total <= 0.0 else np.searchsorted(np.cumsum(closest), rng.random(trials) * total)
        picks = np.minimum(drawn, n - 1)
        cand = np.maximum(_sq_dist(x, x[picks], x2), 0.0)  # n x trials
        pot = np.minimum(closest[:, None], cand).sum(axis=0)
        best = int(pot.argmin())
        centers[i] = x[picks[best]]
        closest = np.minimum(closest, cand[:, best])
    return centers


def _matmul(a: NDArray[np.float32], b: NDArray[np.float32]) -> NDArray[np.float32]:
    """a @ b with OpenCV's single-threaded gemm (see assign for why not numpy's)."""
    product = cv2.gemm(a, b, 1.0, None, 0.0)  # type: ignore[call-overload]  # the stubs lack src3=None (with beta 0)
    return cast("NDArray[np.float32]", product)


def _argmin_rows(d: NDArray[np.float32]) -> NDArray[np.int32]:
    """Column of the smallest value of each row (OpenCV's reduceArgMin, single-threaded), as a flat int32 array."""
    return cast("NDArray[np.int32]", cv2.reduceArgMin(d, 1).ravel())


def _lloyd(x: NDArray[np.float32], centers: NDArray[np.float32], iters: int, tol: float
           ) -> tuple[NDArray[np.float32], float]:
    """Lloyd iterations from `centers` until no centre moves more than `tol`; (centres, inertia).

    The loop is kept to a dozen numpy calls an iteration: on a 4096-pixel sample the calls, not the
    arithmetic, are the cost (0.25 -> 0.12 ms an iteration).
    """
    k, dim = centers.shape
    x2 = np.einsum("ij,ij->i", x, x)
    columns = np.ascontiguousarray(x.T)  # per-feature sums read a contiguous row, not a strided column
    sums = np.empty((k, dim), dtype=np.float32)
    for _ in range(iters):
        # |x|^2 does not change the argmin; it is added back only where distances are compared to 0.
        d = _matmul(x, np.ascontiguousarray(-2.0 * centers.T))
        d += np.einsum("ij,ij->i", centers, centers)
        lab = _argmin_rows(d)
        counts = np.bincount(lab, minlength=k)
        for j in range(dim):
            sums[:, j] = np.bincount(lab, weights=columns[j], minlength=k)
        if counts.all():
            new = (sums / counts[:, None]).astype(np.float32)
        else:
            empty = counts == 0
            new = sums.copy()
            new[~empty] /= counts[~empty, None]
            # An empty cluster takes the point worst served by its centre, so k clusters stay in use.
            worst = (d[np.arange(x.shape[0]), lab] + x2).argsort()[::-1]
            new[empty] = x[worst[: int(empty.sum())]]
        shift = float(np.abs(new - centers).max())
        centers = new
        if shift <= tol:
            break
    d = _sq_dist(x, centers, x2)
    inertia = float(d.min(axis=1).sum())
    return centers, inertia


def fit_kmeans(samples: NDArray[np.floating], k: int, seed: int, n_init: int = 1, iters: int = 20, tol: float = 0.5
               ) -> NDArray[np.float32]:
    """Fit k centres on `samples` (N x D float32), best of `n_init` seeded runs. Deterministic for a seed."""
    x = np.asarray(samples, dtype=np.float32)
    if x.shape[0] == 0:
        raise ValueError("no samples to cluster")
    rng = np.random.default_rng(seed)
    best: NDArray[np.float32] | None = None
    best_inertia = np.inf
    for _ in range(max(1, n_init)):
        centers, inertia = _lloyd(x, _plus_plus(x, k, rng), iters, tol)
        if inertia < best_inertia:
            best, best_inertia = centers, inertia
    assert best is not None
    return best


def assign(features: NDArray[np.floating], centers: NDArray[np.floating], chunk: int = 1 << 18) -> NDArray[np.int32]:
    """Index of the nearest centre for every row of `features` (int32), in chunks to bound memory.

    OpenCV's single-threaded gemm and arg-min are used instead of numpy's BLAS matmul: with k <= 9 the
    product is tiny per row, and a multi-threaded BLAS on a busy machine was measured 5-10x slower.
    """
    n = features.shape[0]
    out = np.empty(n, dtype=np.int32)
    c = np.ascontiguousarray(centers, dtype=np.float32)
    c2 = np.einsum("ij,ij->i", c, c)
    m2 = np.ascontiguousarray(-2.0 * c.T)
    for start in range(0, n, chunk):
        block = np.ascontiguousarray(features[start : start + chunk], dtype=np.float32)
        # |x|^2 is the same for every centre, so it is left out of the argmin.
        scores = _matmul(block, m2)
        scores += c2
        out[start : start + chunk] = _argmin_rows(scores)
    return out


_LUT_BITS = 5
_LUT_SHIFT = 8 - _LUT_BITS
_LUT_SIDE = 1 << _LUT_BITS
_LUT_HALF = ((1 << _LUT_SHIFT) - 1) / 2.0  # half the width of a LUT cell, per channel


def assign_codes(codes: NDArray[np.uint8], centers: NDArray[np.floating]) -> NDArray[np.int32]:
    """Exact nearest-centre index for N x 3 uint8 colour codes, via a coarse colour lookup table.

    Colours are binned into 5-bit-per-channel cells; only the cells present are looked at (a crop has
    a few thousand). A cell answers for all its pixels when no bisector between its nearest centre b
    and another centre j crosses it: d_j(g) - d_b(g) > 2 h |c_j - c_b|_1 at the cell centre g (h = half
    the cell width). Pixels of the remaining cells, near cluster boundaries, are assigned exactly.
    """
    c = centers.astype(np.float32)
    k = c.shape[0]
    if k == 1:
        return np.zeros(codes.shape[0], dtype=np.int32)
    q = codes >> _LUT_SHIFT
    idx = (q[:, 0].astype(np.int32) << (2 * _LUT_BITS)) | (q[:, 1].astype(np.int32) << _LUT_BITS) | q[:, 2]
    present = np.flatnonzero(np.bincount(idx, minlength=_LUT_SIDE**3))
    mask = _LUT_SIDE - 1
    cells = np.stack([present >> (2 * _LUT_BITS), (present >> _LUT_BITS) & mask, present & mask], axis=1)
    d = _sq_dist((cells * (1 << _LUT_SHIFT) + _LUT_HALF).astype(np.float32), c)
    best = d.argmin(axis=1)
    rows = np.arange(d.shape[0])
    l1 = np.abs(c[:, None, :] - c[None, :, :]).sum(axis=2)
    slack = d - d[rows, best][:, None] - (2.0 * _LUT_HALF) * l1[best]
    slack[rows, best] = np.inf
    lut = np.full(_LUT_SIDE**3, -1, dtype=np.int32)  # -1: an ambiguous cell, decided per pixel
    lut[present] = np.where(slack.min(axis=1) > 1e-3, best, -1)
    out = np.take(lut, idx)  # faster than fancy indexing for a flat gather
    redo = np.flatnonzero(out < 0)
    if redo.size:
        out[redo] = assign(np.take(codes, redo, axis=0).astype(np.float32), c)
    return out


def sample_rows(n: int, size: int, seed: int) -> NDArray[np.intp]:
    """Sorted row indices of a seeded sample without replacement (all rows when n <= size)."""
    if n <= size:
        return np.arange(n)
    rng = np.random.default_rng(seed + 0x9E3779B1)
    return np.sort(rng.choice(n, size=size, replace=False))


def cluster_pixels(
    features: NDArray[np.float32] | None,
    shape: tuple[int, int],
    k: int,
    seed: int,
    sample_size: int,
    codes: NDArray[np.uint8] | None = None,
) -> Clustering:
    """Cluster an (H*W) x D feature matrix: fit on a seeded sample, assign all, order clusters by first feature.

    `codes` (N x 3 uint8 colour features) enables the exact lookup-table assignment, ~3x faster; with
    codes, `features` may be None (they would be the same numbers as float32).
    """
    if codes is not None:
        rows = sample_rows(codes.shape[0], sample_size, seed)
        sample = codes[rows].astype(np.float32)
    elif features is not None:
        rows = sample_rows(features.shape[0], sample_size, seed)
        sample = features[rows]
    else:
        raise ValueError("cluster_pixels needs features or codes")
    centers = fit_kmeans(sample, k, seed)
    order = np.lexsort(centers.T[::-1])  # by lightness first (Lab L / value), ties by the next features
    centers = centers[order]
    if codes is not None:
        flat = assign_codes(codes, centers)
    else:
        assert features is not None  # checked above
        flat = assign(features, centers)
    labels = flat.reshape(shape)
    counts = np.bincount(labels.ravel(), minlength=k).astype(np.int64)
    return Clustering(labels=labels, centers=centers, counts=counts)
