"""The neutral per-object record every writer reads: label, box, visible mask (COCO RLE), outlines, visibility.

One function makes it from a rendered object, and it is the only place where box, mask and outline
are derived, so they always describe the same pixels:

- the label mask is the visible mask less its specks: 8-connected parts smaller than MIN_PART_PIXELS
  (slivers a later paste left of an earlier object) are dropped from the mask itself, so they are in
  neither the box, nor the RLE, nor the outlines;
- the box is the exact extent of the label mask (x1, y1 exclusive);
- the outlines trace pixel corners (not pixel centres), one closed ring per part: their extent is the
  box, and filled (pycocotools' rasteriser, or any "pixel centre inside" fill) they give back exactly
  the label mask, holes aside (a polygon has no holes; the RLE keeps them).

An object whose visible box (after occlusion, rotation and clipping) has a longest side under
`min_side` pixels is not labelled at all; label_objects counts it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, field_validator

from garbtui.core.compose.render import RenderedObject
from garbtui.core.workspace.rle import encode_window_rle

MIN_PART_PIXELS = 9  # a visible part smaller than 3x3 is a speck left by occlusion, not something to learn
MIN_VISIBLE_SIDE = 8  # px: longest side of the visible box a dataset object needs (smaller teaches nothing)

Corner = tuple[int, int]  # a pixel corner: (x, y) in image pixels, integers


class ObjectLabel(BaseModel):
    """One labelled object of an image: what COCO, YOLO and Label Studio files are written from."""

    model_config = ConfigDict(allow_inf_nan=False, frozen=True)  # NaN would be saved as null and never load back

    label: str
    crop_id: str
    placement_index: int
    bbox: tuple[int, int, int, int]  # x0, y0, x1, y1, exclusive ends: the extent of the label mask
    area: int  # pixels of the label mask
    rle: dict[str, Any]  # COCO compressed RLE of the label mask: {"size": [h, w], "counts": str}
    polygons: list[list[Corner]]  # outer outlines of its parts through pixel corners, largest part first
    visible_fraction: float
    clipped: bool = False

    @field_validator("rle")
    @classmethod
    def _rle_shape(cls, value: dict[str, Any]) -> dict[str, Any]:
        size, counts = value.get("size"), value.get("counts")
        if not (isinstance(size, (list, tuple)) and len(size) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in size)):
            raise ValueError("rle.size must be [height, width] as whole numbers")
        if not (isinstance(counts, str) or (isinstance(counts, list) and all(isinstance(c, int) for c in counts))):
            raise ValueError("rle.counts must be a COCO RLE string or a list of run lengths")
        return value

    @property
    def longest_side(self) -> int:
        x0, y0, x1, y1 = self.bbox
        return max(x1 - x0, y1 - y0)

    def outline(self) -> list[Corner]:
        """Every part joined into one ring by zero-width bridges (YOLO segment, Label Studio): one object, one entry."""
        return merge_parts(self.polygons)


@dataclass(frozen=True)
class ImageLabels:
    """One image as the writers see it: its file (relative to the dataset or label folder), size and objects."""

    file_name: str
    width: int
    height: int
    objects: Sequence[ObjectLabel]
    split: str = ""  # train / val in datasets, "" for a scene
    coco_extra: Mapping[str, Any] = field(default_factory=dict)  # extra keys of the COCO image entry
    ls_meta: Mapping[str, Any] = field(default_factory=dict)  # the Label Studio task's meta


@dataclass
class DropCounts:
    """Placements left out of the labels, by reason."""

    hidden: int = 0  # covered beyond the occlusion limit, or entirely
    outside: int = 0  # nothing of it inside the image
    too_small: int = 0  # visible box's longest side under the minimum

    @property
    def total(self) -> int:
        return self.hidden + self.outside + self.too_small

    def add(self, other: DropCounts) -> None:
        self.hidden += other.hidden
        self.outside += other.outside
        self.too_small += other.too_small

    def as_dict(self) -> dict[str, int]:
        return {"hidden": self.hidden, "outside": self.outside, "too_small": self.too_small}


def label_mask(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """The visible mask less its specks (8-connected parts under MIN_PART_PIXELS); the largest part always stays."""
    if mask.size == 0 or not mask.any():
        return mask
    n, comp, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 2:
        return mask
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = areas >= MIN_PART_PIXELS
    keep[int(np.argmax(areas))] = True
    if keep.all():
        return mask
    lut = np.concatenate(([False], keep))
    out: NDArray[np.bool_] = lut[comp]
    return out


def corner_outlines(mask: NDArray[np.bool_], offset: tuple[int, int] = (0, 0)) -> list[list[Corner]]:
    """Outer outlines of a bool mask through pixel corners, in image pixels, largest part first.

    The mask is doubled (each pixel a 2x2 block) and traced with OpenCV: every traced vertex then lies
    a quarter pixel inside a true pixel corner, and rounding puts it there. Filled with the "pixel
    centre inside" rule, the rings give back the mask (holes filled); their extent is the mask's.
    """
    if mask.size == 0 or not mask.any():
        return []
    doubled = np.repeat(np.repeat(mask.astype(np.uint8), 2, axis=0), 2, axis=1)
    contours, _ = cv2.findContours(doubled, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    ox, oy = offset
    parts: list[tuple[int, int, list[Corner]]] = []
    for order, c in enumerate(contours):
        pts = np.rint((c.reshape(-1, 2).astype(np.float64) + 0.5) / 2.0).astype(np.int64)
        keep = np.ones(len(pts), dtype=bool)
        keep[1:] = np.any(pts[1:] != pts[:-1], axis=1)
        pts = pts[keep]
        if len(pts) > 1 and (pts[0] == pts[-1]).all():
            pts = pts[:-1]
        if len(pts) < 3:
            continue
        ring = [(int(x) + ox, int(y) + oy) for x, y in pts]
        area = abs(cv2.contourArea(pts.astype(np.float32)))
        parts.append((-int(round(area * 4)), order, ring))
    parts.sort(key=lambda t: (t[0], t[1]))
    return [ring for _, _, ring in parts]


def merge_parts(parts: Sequence[Sequence[Corner]]) -> list[Corner]:
    """Join rings into one by zero-width bridges between their nearest points (as Ultralytics merges segments)."""
    if not parts:
        return []
    merged = list(parts[0])
    for part in parts[1:]:
        a = np.asarray(merged, dtype=np.int64)
        b = np.asarray(part, dtype=np.int64)
        d = ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)
        i, j = np.unravel_index(int(np.argmin(d)), d.shape)
        p = list(part)
        loop = p[j:] + p[:j] + [p[j]]
        merged = merged[: i + 1] + loop + merged[i:]
    return merged


def object_label(obj: RenderedObject) -> ObjectLabel | None:
    """The labelled record of a kept rendered object (None when nothing of it is visible)."""
    mask = label_mask(obj.mask_roi)
    if mask.size == 0 or not mask.any():
        return None
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    window = np.ascontiguousarray(mask[r0:r1, c0:c1])
    ox, oy = obj.offset[0] + c0, obj.offset[1] + r0
    w, h = obj.image_size
    return ObjectLabel(
        label=obj.label, crop_id=obj.crop_id, placement_index=obj.placement_index,
        bbox=(ox, oy, ox + (c1 - c0), oy + (r1 - r0)), area=int(window.sum()),
        rle=dict(encode_window_rle(window, (ox, oy), (w, h))),
        polygons=corner_outlines(window, (ox, oy)),
        visible_fraction=round(float(obj.visible_fraction), 4), clipped=bool(obj.clipped),
    )


def label_objects(objects: Iterable[RenderedObject], min_side: int = 0) -> tuple[list[ObjectLabel], DropCounts]:
    """The labelled objects of a render, in placement order, and how many placements were left out and why.

    min_side: an object whose visible box has a longest side under it is left out (counted as too small).
    """
    out: list[ObjectLabel] = []
    drops = DropCounts()
    for obj in objects:
        if obj.dropped:
            if obj.drop_reason.startswith("hidden"):
                drops.hidden += 1
            elif obj.drop_reason.startswith("too small"):
                drops.too_small += 1
            else:
                drops.outside += 1
            continue
        rec = object_label(obj)
        if rec is None:
            drops.hidden += 1
        elif rec.longest_side < min_side:
            drops.too_small += 1
        else:
            out.append(rec)
    return out, drops
