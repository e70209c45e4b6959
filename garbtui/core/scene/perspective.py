"""Perspective scale of a fragment on a background: h_px = k * (y_bottom - y_horizon) on road scenes.

For an object lying on a flat ground plane seen by a level pinhole camera, its pixel height is
proportional to how far its bottom sits below the horizon (Hoiem, Efros & Hebert 2006), with
k = H_object / H_camera. k does not depend on focal length or resolution, so:
- a fragment cut from a road photo with a known horizon carries its own k (CropMeta.k), which moves
  to another camera height as k * H_cam_source / H_cam_background;
- otherwise a per-label size prior (metres, see size_priors.py) gives k = prior / H_cam_background.

Front scenes (garbage right in front of a camera looking down at the ground) use real sizes: a fragment's
longest side becomes length(label) x s(y), where length is its label's length prior (size_priors.py) - or
its own length, when its source photo's scale is known from the other objects annotated in it - and s(y)
the background's ground scale in pixels per metre at the contact row. For a pinhole camera at height h
pitched down by theta with focal length f, the ground scale is linear in the row:

    s(y) = s_c * (1 + (y - cy) / D),  s_c = f sin(theta) / h,  D = f tan(theta) = cy - y_horizon

(the road rule h_px = k (y - y_horizon) is its theta -> 0 case). s_c comes from the background's meta
(ground_scale) or a phone camera model (66 deg field of view on the long side, 0.8 m from the ground at
the image centre, tilted 60 deg: about 1230 px/m at 1280 px); the horizon from its meta when typed, else
that model. Every object in one image shares the scale, so their relative sizes are believable (today's
rule before this one, sizes relative to each source photo, put 61 % of cross-photo pairs off by more than
2x), and nothing is larger than MAX_LENGTH_FACTOR x its class's typical length at that spot.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from garbtui.core.errors import InputError
from garbtui.core.scene.size_priors import MAX_LENGTH_FACTOR, SizePriors
from garbtui.core.workspace.models import BackgroundMeta, CropMeta, Placement

DEFAULT_CAMERA_HEIGHT_M = 1.5
# A phone photographing litter at its feet (front backgrounds without a ground_scale in their meta).
PHONE_HFOV_LONG_DEG = 66.0  # horizontal field of view on the long side
FRONT_DISTANCE_M = 0.8  # camera to the ground at the image centre
FRONT_TILT_DEG = 60.0  # pitched down from the horizontal
ScaleSource = Literal["manual", "source-k", "prior", "front"]


def perspective_height(k: float, y_bottom: float, y_horizon: float) -> float:
    """Pixel height of an object whose bottom sits at row `y_bottom`: k * (y_bottom - y_horizon).

    Zero or negative means the contact point is on or above the horizon, where nothing can lie.
    """
    return k * (y_bottom - y_horizon)


def k_for_object(object_height_px: float, bottom_row: float, horizon_row: float) -> float | None:
    """The k an annotated object carries: its pixel height / (bottom row - horizon row); None at/above the horizon."""
    below = bottom_row - horizon_row
    if below <= 0 or object_height_px <= 0:
        return None
    return object_height_px / below


def with_source_k(crop: CropMeta, image_horizon: float | None) -> CropMeta:
    """The crop's meta carrying its own k when its source photo's horizon is known (set at extraction
    or later, in the TUI or meta.json): k = region height / (region bottom - horizon). In memory only;
    a k already in meta.json wins."""
    if crop.k is not None or image_horizon is None:
        return crop
    box = crop.region.bbox
    bottom = crop.bottom_row if crop.bottom_row is not None else box.y1
    k = k_for_object(box.height, bottom, image_horizon)
    return crop.model_copy(update={"k": k, "horizon_row": image_horizon}) if k else crop


def k_from_source(
    source_k: float, source_camera_height: float | None = None, target_camera_height: float | None = None
) -> float:
    """A source fragment's k moved to another camera: k_src * H_src / H_bg (k = H_obj / H_cam)."""
    if source_k <= 0:
        raise InputError(f"perspective constant k must be positive, got {source_k}")
    h_src = source_camera_height or DEFAULT_CAMERA_HEIGHT_M
    h_bg = target_camera_height or DEFAULT_CAMERA_HEIGHT_M
    return source_k * h_src / h_bg


def k_from_prior(object_height_m: float, camera_height_m: float | None = None) -> float:
    """k from a real-world size: H_obj / H_cam."""
    return object_height_m / (camera_height_m or DEFAULT_CAMERA_HEIGHT_M)


@dataclass(frozen=True)
class ScaleDecision:
    """The scale factor applied to a fragment, and how it was obtained (shown in the TUI)."""

    scale: float
    source: ScaleSource
    k: float | None = None  # perspective constant used, road scenes only
    target_height_px: float | None = None  # the object height aimed at, in background pixels
    note: str = ""
    chosen_by: str | None = None  # a numeric scale: how a program chose it (Placement.scale_from); None: typed

    @property
    def words(self) -> str:
        """Where the scale came from, as the user reads it: typed, perspective, source k, prior, front."""
        if self.source == "manual":
            return SCALE_WORDS.get(self.chosen_by or "", "typed")
        return SCALE_WORDS.get(self.source, self.source)


SCALE_WORDS = {"source-k": "source k", "prior": "prior", "front": "front", "perspective": "perspective",
               "relative": "relative size"}


@dataclass(frozen=True)
class FrontGround:
    """A front background's ground scale: s(y) = s_c * (y - horizon) / (cy - horizon), pixels per metre."""

    s_c: float  # at the centre row
    cy: float
    horizon: float  # row where the ground scale reaches zero (above the image for a camera looking down)

    def at(self, y: float) -> float:
        """Pixels per metre on the ground at row y (never under 5 % of the centre's)."""
        return max(0.05 * self.s_c, self.s_c * (y - self.horizon) / (self.cy - self.horizon))


def front_ground(background: BackgroundMeta) -> FrontGround:
    """The ground scale of a front background: its meta's ground_scale and horizon, else the phone camera model."""
    f = 0.5 * max(background.width, background.height) / math.tan(math.radians(PHONE_HFOV_LONG_DEG) / 2.0)
    cy = background.height / 2.0
    s_c = background.ground_scale or f / FRONT_DISTANCE_M
    horizon = cy - f * math.tan(math.radians(FRONT_TILT_DEG))
    if background.horizon_row is not None and background.horizon_row < cy - 1.0:
        horizon = float(background.horizon_row)
    return FrontGround(float(s_c), cy, horizon)


def object_length_px(crop: CropMeta) -> float:
    """The longest side of the object's annotated outline (minimum-area rectangle), in source photo pixels."""
    region = crop.region
    pts = [p for part in (region.parts or ([region.points] if region.points else [])) for p in part]
    if not pts and region.corners:
        pts = list(region.corners)
    if len(pts) >= 3:
        (_, _), (w, h), _ = cv2.minAreaRect(np.asarray(pts, np.float32))
        if max(w, h) > 0:
            return float(max(w, h))
    return float(max(region.bbox.width, region.bbox.height, 1.0))


def photo_scales(crops: Iterable[CropMeta], priors: SizePriors) -> dict[str, float]:
    """Pixels per metre of each source photo holding at least two annotated objects: the median over them of
    longest side / length prior. A fragment's own length is then its px length / its photo's scale."""
    per: dict[str, list[float]] = {}
    for crop in crops:
        per.setdefault(crop.image_id, []).append(object_length_px(crop) / priors.length(crop.label)[0])
    return {image: float(np.median(v)) for image, v in per.items() if len(v) >= 2}


def resolve_scale(
    placement: Placement,
    crop: CropMeta,
    object_height_px: float,
    background: BackgroundMeta,
    priors: SizePriors,
    *,
    source_camera_height: float | None = None,
    source_px_per_m: float | None = None,
    index: int | None = None,
) -> ScaleDecision:
    """The scale factor for one placement.

    `object_height_px` is the fragment's visible (alpha) height in proc.png pixels, before any scaling.
    A numeric placement.scale is used as is. `auto` uses perspective on road backgrounds with a
    horizon, else the front rule (real length on the background's ground scale at the contact row;
    `source_px_per_m`, the source photo's scale from photo_scales, gives the object its own length).
    Raises InputError when `auto` cannot work (a road contact point at or above the horizon).
    """
    where = f"placement {index + 1}" if index is not None else "placement"  # numbered from 1, as the user sees them
    if placement.scale != "auto":
        chosen_by = placement.scale_from
        return ScaleDecision(float(placement.scale), "manual", note=f"chosen by {chosen_by}" if chosen_by else "typed",
                             chosen_by=chosen_by)
    if object_height_px <= 0:
        raise InputError(f"{where}: fragment {crop.id} has no visible pixels", field="scale")
    if background.scene == "road" and background.horizon_row is None:
        raise InputError(
            f"{where}: background {background.id} is a road scene without a horizon row; set one with "
            f"`garbtui background horizon {background.id} ROW` or type a numeric scale", field="scale"
        )
    if background.scene == "road" and background.horizon_row is not None:
        if crop.k is not None and crop.k > 0:
            k = k_from_source(crop.k, source_camera_height, background.camera_height_m)
            source: ScaleSource = "source-k"
            note = f"k {crop.k:.4f} from the source photo"
        else:
            metres, key = priors.lookup(crop.label)
            k = k_from_prior(metres, background.camera_height_m)
            source = "prior"
            note = f"size prior {metres:g} m ({key})"
        target = perspective_height(k, placement.y, background.horizon_row)
        if target <= 0:
            raise InputError(
                f"{where}: y={placement.y:g} is at or above the horizon (row {background.horizon_row:g}) of "
                f"background {background.id}; nothing can lie there (move it lower or type a numeric scale)", field="y"
            )
        return ScaleDecision(target / object_height_px, source, k, target, note)
    typical, key = priors.length(crop.label)
    length_px = object_length_px(crop)
    metres, how = typical, f"length prior {typical:g} m ({key})"
    if source_px_per_m:
        metres = float(np.clip(length_px / source_px_per_m, typical / MAX_LENGTH_FACTOR, typical * MAX_LENGTH_FACTOR))
        how = f"own length {metres:.3f} m (prior {typical:g} m, {key})"
    ground = front_ground(background).at(placement.y)
    scale = metres * ground / length_px
    return ScaleDecision(scale, "front", None, object_height_px * scale, f"{how} at {ground:.0f} px/m")
