"""Horizon estimate for road photos: the vanishing point of lane and kerb lines (Canny + Hough + consensus).

Lane markings and kerbs are parallel lines on the ground; in the image they meet at a vanishing point
on the horizon. Segments are found with Canny + probabilistic Hough in the lower part of the photo,
split into left-leaning and right-leaning ones (lines of the left and right road edges), and every
left/right pair gives a candidate intersection. The candidate that most segments point at (by angle,
weighted by length) wins; the answer is the length-weighted median of the intersections of its
inlier pairs. Confidence says how much of the line evidence agrees. The user can always type the row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from garbtui.core.workspace.arrays import as_u8

WORK_WIDTH = 960  # estimates run on a copy this wide: stable thresholds, bounded time
MIN_ANGLE_DEG = 12.0  # flatter segments are mostly cars, shadows and the horizon itself
MAX_ANGLE_DEG = 80.0  # steeper ones are poles and tree trunks
INLIER_ANGLE_DEG = 2.0
MAX_PER_SIDE = 40
MIN_CONFIDENCE = 0.15

Segment = tuple[float, float, float, float]


@dataclass(frozen=True)
class HorizonEstimate:
    """An estimated horizon row (image pixels) with a 0..1 confidence; row is None when nothing agreed."""

    row: float | None
    confidence: float
    lines: list[Segment] = field(default_factory=list)  # inlier segments, image pixels (x1, y1, x2, y2)
    vanishing_point: tuple[float, float] | None = None


def _segments(gray: NDArray[np.uint8]) -> NDArray[np.float64]:
    h, w = gray.shape
    blur = cv2.GaussianBlur(gray, (5, 5), 0)
    med = float(np.median(blur))
    edges = cv2.Canny(blur, max(20.0, 0.66 * med), min(255.0, max(60.0, 1.33 * med)))
    edges[: int(h * 0.3)] = 0  # lane lines live in the lower part; the sky and tree tops only add noise
    found = cv2.HoughLinesP(
        edges, 1, np.pi / 180, threshold=max(20, w // 40), minLineLength=max(15, w // 30), maxLineGap=max(5, w // 100)
    )
    if found is None:
        return np.zeros((0, 4), dtype=np.float64)
    return np.asarray(found, dtype=np.float64).reshape(-1, 4)


def _lane_weight(rgb: NDArray[np.uint8], segs: NDArray[np.float64]) -> NDArray[np.float64]:
    """Extra weight for segments running along bright or yellow paint (lane markings, kerb lines)."""
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    paint = ((hsv[:, :, 2] > 170) & (hsv[:, :, 1] < 60)) | (
        (hsv[:, :, 0] >= 15) & (hsv[:, :, 0] <= 35) & (hsv[:, :, 1] > 80) & (hsv[:, :, 2] > 120)
    )
    paint = cv2.dilate(paint.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    out = np.ones(len(segs))
    h, w = paint.shape
    for i, (x1, y1, x2, y2) in enumerate(segs):
        ts = np.linspace(0.0, 1.0, 9)
        xs = np.clip(np.round(x1 + (x2 - x1) * ts).astype(int), 0, w - 1)
        ys = np.clip(np.round(y1 + (y2 - y1) * ts).astype(int), 0, h - 1)
        out[i] = 1.0 + 2.0 * float(paint[ys, xs].mean())
    return out


def _intersect(a: NDArray[np.float64], b: NDArray[np.float64]) -> tuple[float, float] | None:
    x1, y1, x2, y2 = a
    x3, y3, x4, y4 = b
    d = (x1 - x2) * (y3 - y4) - (y1 - y2) * (x3 - x4)
    if abs(d) < 1e-9:
        return None
    t = ((x1 - x3) * (y3 - y4) - (y1 - y3) * (x3 - x4)) / d
    return x1 + t * (x2 - x1), y1 + t * (y2 - y1)


def _angle_error(segs: NDArray[np.float64], point: tuple[float, float]) -> NDArray[np.float64]:
    """Angle (degrees) between each segment and the ray from its midpoint to `point`."""
    mx = (segs[:, 0] + segs[:, 2]) / 2
    my = (segs[:, 1] + segs[:, 3]) / 2
    dx, dy = segs[:, 2] - segs[:, 0], segs[:, 3] - segs[:, 1]
    px, py = point[0] - mx, point[1] - my
    cross = np.abs(dx * py - dy * px)
    dot = np.abs(dx * px + dy * py)
    return np.degrees(np.arctan2(cross, dot))


def _weighted_median(values: NDArray[np.float64], weights: NDArray[np.float64]) -> float:
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    cum = np.cumsum(w)
    return float(v[np.searchsorted(cum, cum[-1] / 2.0)])


def estimate_horizon(rgb: NDArray[np.uint8]) -> HorizonEstimate:
    """Estimate the horizon row of a road photo (RGB uint8) from its lane and kerb lines."""
    h0, w0 = rgb.shape[:2]
    f = WORK_WIDTH / w0 if w0 > WORK_WIDTH else 1.0
    small = as_u8(cv2.resize(rgb, (round(w0 * f), round(h0 * f)), interpolation=cv2.INTER_AREA)) if f != 1.0 else rgb
    h, w = small.shape[:2]
    gray = as_u8(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY))
    segs = _segments(gray)
    if len(segs) < 2:
        return HorizonEstimate(None, 0.0)
    dx, dy = segs[:, 2] - segs[:, 0], segs[:, 3] - segs[:, 1]
    angle = np.degrees(np.arctan2(dy, dx))
    angle = (angle + 90.0) % 180.0 - 90.0  # (-90, 90]: sign tells the lean
    steep = (np.abs(angle) >= MIN_ANGLE_DEG) & (np.abs(angle) <= MAX_ANGLE_DEG)
    segs, angle = segs[steep], angle[steep]
    if len(segs) < 2:
        return HorizonEstimate(None, 0.0)
    length = np.hypot(segs[:, 2] - segs[:, 0], segs[:, 3] - segs[:, 1])
    weight = length * _lane_weight(small, segs)
    # Image y grows downwards: a left road edge rises to the right (negative angle), a right edge falls.
    left = np.flatnonzero(angle < 0)
    right = np.flatnonzero(angle > 0)
    if len(left) == 0 or len(right) == 0:
        return HorizonEstimate(None, 0.0)
    left = left[np.argsort(-weight[left], kind="stable")][:MAX_PER_SIDE]
    right = right[np.argsort(-weight[right], kind="stable")][:MAX_PER_SIDE]
    cands: list[tuple[float, float, float]] = []
    for i in left:
        for j in right:
            p = _intersect(segs[i], segs[j])
            if p is None:
                continue
            x, y = p
            # The vanishing point lies above both segments and not absurdly far outside the frame.
            if not (-0.5 * w <= x <= 1.5 * w and 0.05 * h <= y <= 0.9 * h):
                continue
            if y > min(segs[i, 1], segs[i, 3]) + 2 or y > min(segs[j, 1], segs[j, 3]) + 2:
                continue
            cands.append((x, y, float(min(weight[i], weight[j]))))
    if not cands:
        return HorizonEstimate(None, 0.0)
    used = np.concatenate([left, right])
    best_score, best_inl = -1.0, None
    for x, y, _ in cands:
        err = _angle_error(segs[used], (x, y))
        inl = err < INLIER_ANGLE_DEG
        lean_ok = np.any(angle[used][inl] < 0) and np.any(angle[used][inl] > 0)
        score = float(weight[used][inl].sum()) if lean_ok else 0.0
        if score > best_score:
            best_score, best_inl = score, used[inl]
    if best_inl is None or best_score <= 0:
        return HorizonEstimate(None, 0.0)
    inl_left = [i for i in best_inl if angle[i] < 0]
    inl_right = [i for i in best_inl if angle[i] > 0]
    xs, ys, ws = [], [], []
    for i in inl_left:
        for j in inl_right:
            p = _intersect(segs[i], segs[j])
            if p is not None:
                xs.append(p[0])
                ys.append(p[1])
                ws.append(min(weight[i], weight[j]))
    if not ys:
        return HorizonEstimate(None, 0.0)
    row = _weighted_median(np.asarray(ys), np.asarray(ws))
    col = _weighted_median(np.asarray(xs), np.asarray(ws))
    confidence = best_score / float(weight[used].sum())
    balance = min(len(inl_left), len(inl_right)) / max(len(inl_left), len(inl_right))
    confidence = float(np.clip(confidence * (0.5 + 0.5 * balance), 0.0, 1.0))
    lines: list[Segment] = [(float(x1) / f, float(y1) / f, float(x2) / f, float(y2) / f) for x1, y1, x2, y2 in segs[best_inl]]
    if confidence < MIN_CONFIDENCE:
        return HorizonEstimate(None, confidence, lines)
    return HorizonEstimate(row / f, confidence, lines, (col / f, row / f))
