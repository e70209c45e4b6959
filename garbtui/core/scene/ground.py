"""Where a fragment may lie on a photo: the ground map and the footprint test shared by generate and recreate.

A GroundMap is a surface map (surfaces.py) turned into what placement asks, at one resolution:
  ground    where litter may lie: a garbage surface, below a trusted horizon, inside the placement band
            and polygons of the background meta;
  integral  its integral image, so "is this box all ground?" costs four lookups;
  weight    EDGE_WEIGHT within EDGE_BAND of a boundary between two surfaces (kerbs, road edges, verges),
            1 elsewhere: litter gathers at edges, the open surface still gets its share.
A placement is good when its contact point and its footprint lie on ground: the lower band of the
rotated box on road views (the object's upper part may stand in front of anything), the whole rotated
box on front views (seen from above, all of it lies on the ground).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from garbtui.core.scene.surfaces import COMPATIBLE, SURFACE_ID, SURFACES, surface_ids
from garbtui.core.workspace.arrays import as_u8
from garbtui.core.workspace.models import PlacementArea

MIN_OBJECT_PX = 8.0  # longest side of an object's visible box, output pixels: smaller teaches a detector nothing
MAX_OBJECT_FRACTION = 0.5  # of the output's shorter side
EDGE_BAND = 0.03  # fraction of the width
EDGE_WEIGHT = 3
LOWER_BAND = 0.12  # of the object's height: the part of a road-view footprint that must lie on ground


@dataclass(frozen=True)
class Footprint:
    """The rotated box of an object whose bottom-centre contact point is (x, y): width, height, and the
    height of the band above y that must lie on ground."""

    width: float
    height: float
    band: float

    @property
    def longest(self) -> float:
        return max(self.width, self.height)


def footprint(target_w: float, target_h: float, rotation: float, whole: bool, rise: float = LOWER_BAND) -> Footprint:
    """The box of a target_w x target_h object turned by `rotation` degrees; `whole`: all of it on ground.

    `rise`: how high above its bottom the object's lower edge climbs, as a fraction of its height (a cup
    ~0.05, a bottle lying across the crop up to 1; lower_edge_rise measures it): the ground band covers it.
    """
    rad = math.radians(rotation)
    c, s = abs(math.cos(rad)), abs(math.sin(rad))
    fw, fh = target_w * c + target_h * s, target_w * s + target_h * c
    band = fh if whole else max(2.0, max(LOWER_BAND, rise) * target_h + 0.5 * target_w * s)
    return Footprint(fw, fh, min(band, fh))


def lower_edge_rise(alpha: NDArray[np.bool_]) -> float:
    """How high the lower edge of a cut-out climbs above its bottom row, as a fraction of its height.

    Per column the lowest visible pixel; the 95th percentile over the columns (a stray column of a
    feathered edge does not count), 0 for a flat bottom, 1 for an object whose sides end at the top.
    """
    cols = np.flatnonzero(alpha.any(axis=0))
    rows = np.flatnonzero(alpha.any(axis=1))
    if len(cols) == 0:
        return LOWER_BAND
    sub = alpha[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h = sub.shape[0]
    have = sub.any(axis=0)
    lowest = h - 1 - np.argmax(sub[::-1, have], axis=0)
    return float(np.percentile((h - 1 - lowest) / max(1, h), 95))


class GroundMap:
    """A surface map as placement uses it (see the module docstring). `labels` at the resolution placement works in."""

    def __init__(self, labels: NDArray[np.uint8], garbage_surfaces: tuple[str, ...],
                 horizon: float | None = None, area: PlacementArea | None = None,
                 area_scale: tuple[float, float, float] = (1.0, 0.0, 0.0)) -> None:
        """`horizon` in map rows; `area` in photo pixels, mapped by area_scale = (s, x0, y0): map = (photo - x0/y0) * s."""
        self.labels = labels
        h, w = labels.shape
        ground = np.isin(labels, surface_ids(list(garbage_surfaces)))
        if horizon is not None:  # nothing lies on or above the horizon
            ground[: max(0, min(h, int(math.ceil(horizon)) + 1))] = False
        if area is not None:
            s, x0, y0 = area_scale
            if area.y_min is not None:
                ground[: max(0, min(h, int(math.ceil((area.y_min - y0) * s))))] = False
            if area.y_max is not None:
                ground[max(0, min(h, int(math.floor((area.y_max - y0) * s)) + 1)):] = False
            if area.polygons:
                keep = np.zeros((h, w), np.uint8)
                for poly in area.polygons:
                    if len(poly) >= 3:
                        pts = np.round(((np.asarray(poly, np.float64) - (x0, y0)) * s - 0.5) * 16).astype(np.int32)
                        cv2.fillPoly(keep, [pts.reshape(-1, 1, 2)], 1, lineType=cv2.LINE_8, shift=4)
                ground &= keep > 0
        self.ground = ground
        self.integral = np.asarray(cv2.integral(ground.astype(np.uint8)), np.int32)
        border = as_u8(cv2.morphologyEx(labels, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))) > 0
        dist = cv2.distanceTransform((~border).astype(np.uint8), cv2.DIST_L2, 3)
        self.weight = np.where(dist < EDGE_BAND * w, EDGE_WEIGHT, 1).astype(np.uint8)
        self.rows = np.flatnonzero(ground.any(axis=1))

    @property
    def width(self) -> int:
        return int(self.labels.shape[1])

    @property
    def height(self) -> int:
        return int(self.labels.shape[0])

    def ground_count(self, x0: float, y0: float, x1: float, y1: float) -> tuple[int, int]:
        """(ground pixels, pixels) of the box [x0, x1) x [y0, y1), widened to whole pixels; (0, 0) when outside."""
        a, b = int(math.floor(x0)), int(math.ceil(x1))
        c, d = int(math.floor(y0)), int(math.ceil(y1))
        if a < 0 or c < 0 or b > self.width or d > self.height or b <= a or d <= c:
            return 0, 0
        ii = self.integral
        total = int(ii[d, b] - ii[c, b] - ii[d, a] + ii[c, a])
        return total, (b - a) * (d - c)

    def all_ground(self, x0: float, y0: float, x1: float, y1: float) -> bool:
        got, area = self.ground_count(x0, y0, x1, y1)
        return area > 0 and got == area

    def fits(self, x: float, y: float, fp: Footprint) -> bool:
        """The contact pixel and the footprint's ground band all on ground (and inside the map), with one
        more row below the contact point: rounding and soft edges never reach past it onto what is not ground."""
        return self.all_ground(x - fp.width / 2, y - fp.band, x + fp.width / 2, min(float(self.height), y + 1.0))

    def surface_at(self, x: float, y: float) -> str:
        """The surface name under a point (the pixel holding it; 'unknown' outside the map)."""
        xi, yi = int(math.floor(x)), int(math.floor(y))
        if not (0 <= xi < self.width and 0 <= yi < self.height):
            return "unknown"
        return SURFACES[min(int(self.labels[yi, xi]), len(SURFACES) - 1)]

    def lower_edge_surfaces(self, x: float, y: float, fp: Footprint) -> set[str]:
        """Surfaces under the bottom row of the footprint (what the object's lower edge rests on)."""
        row = int(math.floor(y - 0.5))
        if not (0 <= row < self.height):
            return {"unknown"}
        a = max(0, int(math.floor(x - fp.width / 2)))
        b = min(self.width, int(math.ceil(x + fp.width / 2)))
        if b <= a:
            return {"unknown"}
        return {SURFACES[min(int(v), len(SURFACES) - 1)] for v in np.unique(self.labels[row, a:b])}

    def pick_x(self, rng: np.random.Generator, row: int, x_lo: float, x_hi: float,
               want: tuple[str, ...] | None = None) -> float | None:
        """A column on `row` between x_lo and x_hi where the ground is, edge-weighted; None when there is none."""
        a, b = max(0, int(math.ceil(x_lo))), min(self.width, int(math.floor(x_hi)) + 1)
        if b <= a or not (0 <= row < self.height):
            return None
        ok = self.ground[row, a:b]
        if want is not None:
            ok = ok & _lut(want)[self.labels[row, a:b]]
        xs = np.flatnonzero(ok)
        if len(xs) == 0:
            return None
        wts = self.weight[row, a + xs].astype(np.float64)
        i = int(np.searchsorted(np.cumsum(wts), float(rng.random()) * float(wts.sum()), side="right"))
        return float(a + xs[min(i, len(xs) - 1)]) + float(rng.random())

    def nearest_fit(self, x: float, y: float, fp: Footprint, max_dist: float) -> tuple[float, float] | None:
        """The nearest contact point to (x, y), within max_dist pixels, where `fp` fits; None when none does."""
        if self.fits(x, y, fp):
            return x, y
        step = max(1.0, min(fp.width, fp.height) / 4.0)
        r = step
        while r <= max_dist:
            n = max(8, int(2 * math.pi * r / step))
            best: tuple[float, float, float] | None = None
            for i in range(n):
                t = 2 * math.pi * i / n
                cx, cy = x + r * math.cos(t), y + r * math.sin(t)
                if self.fits(cx, cy, fp):
                    d = abs(cy - y) * 2 + abs(cx - x)  # prefer moving along the row: depth keeps the size
                    if best is None or d < best[0]:
                        best = (d, cx, cy)
            if best is not None:
                return best[1], best[2]
            r += step
        return None

    def present(self) -> set[str]:
        """The garbage surfaces this map holds somewhere on its ground."""
        vals = np.unique(self.labels[self.ground])
        return {SURFACES[int(v)] for v in vals if int(v) < len(SURFACES)}


_LUTS: dict[tuple[str, ...], NDArray[np.bool_]] = {}


def _lut(names: tuple[str, ...]) -> NDArray[np.bool_]:
    """A 256-entry lookup table: label id -> is one of `names` (cheaper than np.isin on short rows)."""
    found = _LUTS.get(names)
    if found is None:
        found = np.zeros(256, bool)
        found[surface_ids(list(names))] = True
        _LUTS[names] = found
    return found


def wanted_surfaces(fragment_surface: str, present: set[str]) -> tuple[str, ...] | None:
    """The ground surfaces a fragment cut from `fragment_surface` should lie on here, or None for any ground."""
    want = COMPATIBLE.get(fragment_surface)
    if want is None or not any(s in present for s in want):
        return None
    return want


def contact_surface_id(labels: NDArray[np.uint8], x: float, y: float) -> int:
    """The surface id under a contact point (0 outside)."""
    h, w = labels.shape
    xi, yi = int(math.floor(x)), int(math.floor(y - 0.5))
    return int(labels[yi, xi]) if 0 <= xi < w and 0 <= yi < h else SURFACE_ID["unknown"]
