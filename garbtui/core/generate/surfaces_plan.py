"""One background at one output size, as the sampler plans on it: its ground in the output window, and fits.

analyse_background reads the background's surfaces (seg files or the automatic estimate), crops them to
the output window at the output size (nearest neighbour), builds the ground map there (scene/ground.py)
and keeps it compressed (a PNG of a few KB), so a run over many backgrounds holds little memory. A fit
is a fragment on this background at this size: the ground rows where its visible box is at least
MIN_OBJECT_PX and at most MAX_OBJECT_FRACTION of the shorter side, or its constant source-relative size.
background_problem names what makes a background unusable before any pixel is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cv2
import numpy as np
from numpy.typing import NDArray

from garbtui.core.errors import GarbError
from garbtui.core.scene.ground import MAX_OBJECT_FRACTION, MIN_OBJECT_PX, GroundMap
from garbtui.core.scene.perspective import resolve_scale
from garbtui.core.scene.segment import background_surfaces
from garbtui.core.scene.size_priors import SizePriors
from garbtui.core.scene.surfaces import GROUND_SURFACES, SEG_FILE, SURFACE_ID, SegMap, surface_ids
from garbtui.core.workspace.arrays import as_u8
from garbtui.core.workspace.atomic import encode_png
from garbtui.core.workspace.imageio import probe_image
from garbtui.core.workspace.models import BackgroundMeta, Placement
from garbtui.core.workspace.store import Workspace

if TYPE_CHECKING:
    from garbtui.core.generate.sampler import FragmentInfo

FIT_MARGIN = 0.9  # the visible box after rotation or masking can be a little smaller than the extent
MAX_FRONT_UPSCALE = 1.5  # largest enlargement of a fragment's own pixels without a horizon


@dataclass(frozen=True)
class Fit:
    """A fragment on one background at one size: k (perspective) or a constant height, and its rows."""

    frag: FragmentInfo
    k: float | None  # output px of height per output row below the horizon
    size_h: float | None  # constant target height, output pixels (no trusted horizon)
    lo: int  # its rows: plan.rows[lo:hi]
    hi: int
    jitter_lo: float = 0.8  # constant sizes are jittered jitter_lo..1.2 (raised so the object stays visible)

    def height_at(self, y: float, horizon: float | None) -> float:
        if self.k is not None and horizon is not None:
            return self.k * (y - horizon)
        return float(self.size_h or 0.0)


@dataclass
class BackgroundPlan:
    """A background in the output window at the output size (all coordinates in output pixels)."""

    meta: BackgroundMeta
    size: tuple[int, int]
    window: tuple[float, float, float, float]
    s: float
    labels_png: bytes
    garbage_surfaces: tuple[str, ...]
    horizon: float | None  # trusted horizon, output rows
    front: bool
    rows: NDArray[np.int32]
    present: set[str]
    fits: list[Fit] = field(default_factory=list)
    mean_objects: float = 1.0
    why_empty: str = ""
    why_missing: str = ""

    def ground_map(self) -> GroundMap:
        labels = cv2.imdecode(np.frombuffer(self.labels_png, np.uint8), cv2.IMREAD_UNCHANGED)
        if labels is None:
            raise GarbError(f"the surface map of background {self.meta.id} could not be decoded again")
        return _ground(as_u8(labels), self)


def _ground(labels: NDArray[np.uint8], plan: BackgroundPlan) -> GroundMap:
    wx0, wy0 = plan.window[0], plan.window[1]
    return GroundMap(labels, plan.garbage_surfaces, plan.horizon, plan.meta.placement, (plan.s, wx0, wy0))


def background_problem(ws: Workspace, meta: BackgroundMeta) -> str | None:
    """Why this background cannot be used (None when it can): checks on its meta, its photo's header and seg.json."""
    if meta.horizon_row is not None and not (0 <= meta.horizon_row < meta.height):
        return f"horizon row {meta.horizon_row:g} is outside the {meta.height}-row photo"
    area = meta.placement
    if area.y_min is not None and area.y_max is not None and area.y_min >= area.y_max:
        return f"its placement band is empty (y_min {area.y_min:g} >= y_max {area.y_max:g})"
    if (area.y_min is not None and area.y_min >= meta.height) or (area.y_max is not None and area.y_max <= 0):
        return "its placement band lies outside the photo"
    for i, poly in enumerate(area.polygons):
        pts = np.asarray(poly, np.float64).reshape(-1, 2)
        if len(pts) < 3 or abs(float(cv2.contourArea(pts.astype(np.float32)))) < 1.0:
            return f"placement polygon {i} has no area"
    try:
        info = probe_image(ws.background_path(meta.id))
    except GarbError as exc:
        return str(exc)
    if (info.width, info.height) != (meta.width, meta.height):
        return f"its photo is {info.width}x{info.height} but meta.json says {meta.width}x{meta.height}"
    path = ws.background_dir(meta.id) / SEG_FILE
    if path.is_file():
        try:
            SegMap.load(path)
        except GarbError as exc:
            return f"{SEG_FILE}: {exc}"
    return None


def analyse_background(ws: Workspace, meta: BackgroundMeta, horizon: float | None, fragments: list[FragmentInfo],
                       priors: SizePriors, window: tuple[float, float, float, float], s: float,
                       size: tuple[int, int], per_image: tuple[int, int] = (3, 8)) -> tuple[BackgroundPlan, GroundMap]:
    """The plan of one background at one output size (see the module docstring), and its ground map."""
    surfaces = background_surfaces(ws, meta)
    x0, y0, x1, y1 = (int(round(v)) for v in window)
    crop = surfaces.labels[y0:y1, x0:x1]
    labels = as_u8(cv2.resize(crop, size, interpolation=cv2.INTER_NEAREST))
    # Ground only where every photo pixel under the output pixel is ground: a thin pole or kerb face
    # that nearest-neighbour sampling would drop stays out of the ground.
    full_ground = np.isin(crop, surface_ids(list(surfaces.garbage_surfaces))).astype(np.float32)
    strict = cv2.resize(full_ground, size, interpolation=cv2.INTER_AREA) >= 0.999
    labels[~strict & np.isin(labels, surface_ids(list(surfaces.garbage_surfaces)))] = SURFACE_ID["other"]
    front = meta.scene != "road"  # a road photo without a trusted horizon is still a view along the ground
    hz = None if horizon is None else (horizon - window[1]) * s
    pmin, pmax = per_image
    plan = BackgroundPlan(
        meta=meta, size=size, window=window, s=s, labels_png=encode_png(labels, 1),
        garbage_surfaces=tuple(surfaces.garbage_surfaces) or GROUND_SURFACES, horizon=hz, front=front,
        rows=np.zeros(0, np.int32), present=set(),
        mean_objects=(1 + max(1, min(3, pmax))) / 2 if front else (pmin + pmax) / 2,
    )
    ground = _ground(labels, plan)
    plan.rows = ground.rows.astype(np.int32)
    plan.present = ground.present()
    if len(plan.rows) == 0:
        plan.why_empty = (f"no ground inside the output window ({surfaces.backend} surfaces); mark where litter "
                          "may lie (segment it with a model, or the TUI's surfaces view)")
        return plan, ground
    short = float(min(size))
    for frag in fragments:
        longest = max(frag.width, frag.height) / frag.height  # longest side per unit of height
        if hz is not None:
            m = meta.model_copy(update={"horizon_row": horizon, "scene": "road"})
            probe = Placement(crop_id=frag.crop_id, x=meta.width / 2.0, y=meta.height - 0.5, scale="auto")
            try:
                dec = resolve_scale(probe, frag.meta, frag.height, m, priors, source_camera_height=frag.source_camera_height)
            except GarbError:
                continue
            k = float(dec.target_height_px or 0.0) / max(1e-6, meta.height - 0.5 - float(horizon or 0.0))
            if k <= 0:
                continue
            y_lo = hz + MIN_OBJECT_PX / (k * longest * FIT_MARGIN)
            y_hi = hz + MAX_OBJECT_FRACTION * short / (k * longest)
            lo, hi = int(np.searchsorted(plan.rows, y_lo)), int(np.searchsorted(plan.rows, y_hi, side="right"))
            if hi > lo:
                plan.fits.append(Fit(frag, k, None, lo, hi))
        else:
            m = meta.model_copy(update={"horizon_row": None, "scene": "front"})
            probe = Placement(crop_id=frag.crop_id, x=meta.width / 2.0, y=meta.height / 2.0, scale="auto")
            dec = resolve_scale(probe, frag.meta, frag.height, m, priors, source_camera_height=frag.source_camera_height)
            th = float(dec.target_height_px or 0.0) * s
            th = min(th, MAX_FRONT_UPSCALE * frag.height, MAX_OBJECT_FRACTION * short / (1.2 * longest))
            if th <= 0:
                continue
            jitter_lo = max(0.8, MIN_OBJECT_PX / (th * longest * FIT_MARGIN))
            if jitter_lo <= 1.2:
                plan.fits.append(Fit(frag, None, th, 0, len(plan.rows), jitter_lo))
    plan.why_empty = (f"every fragment would be under {MIN_OBJECT_PX:g} px (or over half the image) on its ground "
                      f"rows at {size[0]}x{size[1]}")
    plan.why_missing = (f"under {MIN_OBJECT_PX:g} px on every ground row" if hz is not None
                        else f"their source scale makes them under {MIN_OBJECT_PX:g} px at this size")
    return plan, ground
