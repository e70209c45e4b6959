"""Perspective scale of a fragment on a background: h_px = k * (y_bottom - y_horizon) on road scenes.

For an object lying on a flat ground plane seen by a level pinhole camera, its pixel height is
proportional to how far its bottom sits below the horizon (Hoiem, Efros & Hebert 2006), with
k = H_object / H_camera. k does not depend on focal length or resolution, so:
- a fragment cut from a road photo with a known horizon carries its own k (CropMeta.k), which moves
  to another camera height as k * H_cam_source / H_cam_background;
- otherwise a per-label size prior (metres, see size_priors.py) gives k = prior / H_cam_background.

Front scenes (garbage right in front of the camera) have no usable horizon: the fragment keeps its
size relative to the photo, measured on the image diagonal, i.e. scale = diag(background) / diag(source
photo). That keeps a can that filled a third of a portrait close-up filling a third of a landscape one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from garbtui.core.errors import InputError
from garbtui.core.scene.size_priors import SizePriors
from garbtui.core.workspace.models import BackgroundMeta, CropMeta, Placement

DEFAULT_CAMERA_HEIGHT_M = 1.5
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


def resolve_scale(
    placement: Placement,
    crop: CropMeta,
    object_height_px: float,
    background: BackgroundMeta,
    priors: SizePriors,
    *,
    source_camera_height: float | None = None,
    index: int | None = None,
) -> ScaleDecision:
    """The scale factor for one placement.

    `object_height_px` is the fragment's visible (alpha) height in proc.png pixels, before any scaling.
    A numeric placement.scale is used as is. `auto` uses perspective on road backgrounds with a
    horizon, else the front rule (relative size). Raises InputError when `auto` cannot work (a road
    contact point at or above the horizon).
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
    src_diag = math.hypot(crop.image_width, crop.image_height)
    bg_diag = math.hypot(background.width, background.height)
    scale = bg_diag / src_diag
    return ScaleDecision(scale, "front", None, object_height_px * scale, "relative to the image diagonal")
