"""Region geometry: turned rectangles, bounds, and region masks rasterised in crop pixels."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from garbtui.core.workspace.models import BBox, CropMeta, Point, Region


def rotated_rect_corners(x: float, y: float, w: float, h: float, rotation_deg: float) -> list[Point]:
    """Corners of a w x h rectangle turned `rotation_deg` clockwise (on screen) around its top-left (x, y).

    Image y grows downwards, so a clockwise turn on screen is the usual rotation matrix in (x, y).
    Order: top-left, top-right, bottom-right, bottom-left of the unturned rectangle.
    """
    a = math.radians(rotation_deg)
    c, s = math.cos(a), math.sin(a)
    local = ((0.0, 0.0), (w, 0.0), (w, h), (0.0, h))
    return [(x + dx * c - dy * s, y + dx * s + dy * c) for dx, dy in local]


def bounds(points: list[Point]) -> BBox:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return BBox(x0=min(xs), y0=min(ys), x1=max(xs), y1=max(ys))


def clamp_bbox(box: BBox, width: int, height: int) -> BBox:
    return BBox(
        x0=min(max(box.x0, 0.0), width),
        y0=min(max(box.y0, 0.0), height),
        x1=min(max(box.x1, 0.0), width),
        y1=min(max(box.y1, 0.0), height),
    )


def polygon_mask(points: list[Point], width: int, height: int, offset: tuple[float, float] = (0.0, 0.0)) -> NDArray[np.bool_]:
    """Rasterise a polygon (pixel coordinates, pixel-corner convention) into a bool mask of width x height.

    A pixel is inside when its centre (x + 0.5, y + 0.5) is inside (even-odd rule), so a polygon's
    mask has exactly its area on axis-aligned shapes and no pixel is counted twice by neighbours.
    """
    mask = np.zeros((height, width), dtype=bool)
    if len(points) < 3 or width <= 0 or height <= 0:
        return mask
    pts = np.asarray(points, dtype=np.float64) - np.asarray(offset, dtype=np.float64)
    x0, y0 = pts[:, 0], pts[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    lo, hi = np.minimum(y0, y1), np.maximum(y0, y1)
    first = np.clip(np.ceil(lo - 0.5), 0, height).astype(np.int64)
    last = np.clip(np.ceil(hi - 0.5), 0, height).astype(np.int64)  # exclusive: half-open in y
    toggles = np.zeros((height, width + 1), dtype=np.int32)
    for e in np.flatnonzero(last > first):
        rows = np.arange(first[e], last[e])
        yc = rows + 0.5
        xc = x0[e] + (yc - y0[e]) * (x1[e] - x0[e]) / (y1[e] - y0[e])
        cols = np.clip(np.ceil(xc - 0.5), 0, width).astype(np.int64)
        np.add.at(toggles, (rows, cols), 1)
    return (np.cumsum(toggles[:, :width], axis=1) & 1).astype(bool)


def region_mask(meta: CropMeta, crop_dir: Path | None = None) -> NDArray[np.bool_]:
    """The annotated object as a bool mask in crop pixels (crop_height x crop_width).

    Boxes give their (turned) rectangle, polygons their outline, brush masks the saved mask.png.
    """
    w, h = meta.crop_width, meta.crop_height
    region = meta.region
    origin = (float(meta.origin_x), float(meta.origin_y))
    if region.kind == "brush" and region.mask_file and crop_dir is not None:
        from garbtui.core.workspace.imageio import read_gray

        mask = read_gray(Path(crop_dir) / region.mask_file) > 127
        if mask.shape == (h, w):
            return mask
    if region.kind == "polygon" and region.parts:
        out = np.zeros((h, w), dtype=bool)
        for part in region.parts:
            out |= polygon_mask(list(part), w, h, origin)
        return out
    if region.kind == "polygon" and region.points:
        return polygon_mask(list(region.points), w, h, origin)
    if region.corners:
        return polygon_mask(list(region.corners), w, h, origin)
    b = region.bbox
    return polygon_mask([(b.x0, b.y0), (b.x1, b.y0), (b.x1, b.y1), (b.x0, b.y1)], w, h, origin)


def margin_mask(meta: CropMeta) -> NDArray[np.bool_]:
    """Pixels of the crop outside the annotated bounding box: surely background (bool, crop pixels)."""
    w, h = meta.crop_width, meta.crop_height
    b = meta.region.bbox
    x0 = int(math.floor(b.x0)) - meta.origin_x
    y0 = int(math.floor(b.y0)) - meta.origin_y
    x1 = int(math.ceil(b.x1)) - meta.origin_x
    y1 = int(math.ceil(b.y1)) - meta.origin_y
    out = np.ones((h, w), dtype=bool)
    out[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = False
    return out


def region_from_box(x: float, y: float, w: float, h: float, rotation: float, width: int, height: int) -> Region:
    corners = rotated_rect_corners(x, y, w, h, rotation)
    raw = bounds(corners)
    box = clamp_bbox(raw, width, height)
    clamped = box != raw
    return Region(kind="box", bbox=box, rotation=rotation, corners=corners, clamped=clamped)
