"""Fragments: a cleaned crop (proc.png + meta) trimmed to its visible alpha, and its scale/rotate/flip transform.

Loading a fragment also takes the old background out of its edge (edges.decontaminate, from raw.png) and
measures its source (look.SourceLook): the colour and brightness of its old surroundings and the light of
its source photo, which the paste's illumination matching starts from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from garbtui.core.compose.edges import decontaminate
from garbtui.core.compose.light import linear_luminance
from garbtui.core.compose.look import SourceLook, source_illuminant
from garbtui.core.compose.realism import REALISTIC, Realism
from garbtui.core.errors import GarbError, InputError
from garbtui.core.scene.perspective import with_source_k
from garbtui.core.workspace.arrays import as_f32
from garbtui.core.workspace.imageio import read_rgb, read_rgba
from garbtui.core.workspace.models import CropMeta
from garbtui.core.workspace.store import FileStamp, Workspace

MAX_FRAGMENT_SIDE = 8000  # a typo like scale 80 must fail clearly, not allocate gigabytes


@dataclass(frozen=True)
class Fragment:
    """A cutout ready to place: RGBA trimmed to the extent of alpha > 0, plus where it came from."""

    crop_id: str
    meta: CropMeta
    rgba: NDArray[np.uint8]  # H x W x 4, trimmed: the first/last row and column each hold visible alpha
    source: SourceLook  # its old surroundings and source photo's light
    stamp: FileStamp | None = None  # proc.png's version when read: caches check it

    @property
    def source_bg_lab(self) -> tuple[float, float, float] | None:
        """Mean Lab of the source photo around the object."""
        return self.source.bg_lab

    @property
    def height_px(self) -> int:
        """Visible height in proc.png pixels: what perspective scales."""
        return int(self.rgba.shape[0])

    @property
    def width_px(self) -> int:
        return int(self.rgba.shape[1])


def alpha_extent(alpha: NDArray[np.generic]) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1), exclusive ends, of alpha > 0; None when nothing is visible."""
    rows = np.flatnonzero(alpha.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(alpha.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def mean_lab(rgb: NDArray[np.uint8] | NDArray[np.float32], weight: NDArray[np.generic] | None = None
             ) -> tuple[float, float, float] | None:
    """Mean CIE Lab (L 0..100) of RGB pixels, optionally weighted; None when the weights are all zero.

    Large regions are sampled on a regular grid (about 40k pixels): a mean needs no more, and the
    grid keeps it deterministic.
    """
    step = max(1, int(math.sqrt(rgb.shape[0] * rgb.shape[1] / 40000.0)))
    if step > 1:
        rgb = rgb[::step, ::step]
        weight = None if weight is None else weight[::step, ::step]
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab).reshape(-1, 3)
    if weight is None:
        m = lab.mean(axis=0)
    else:
        w = weight.reshape(-1).astype(np.float64)
        total = w.sum()
        if total <= 0:
            return None
        m = (lab * w[:, None]).sum(axis=0) / total
    return float(m[0]), float(m[1]), float(m[2])


def fragment_from_rgba(
    crop_id: str, meta: CropMeta, rgba: NDArray[np.uint8], raw: NDArray[np.uint8] | None = None,
    stamp: FileStamp | None = None, *, illuminant: NDArray[np.float32] | None = None, realism: Realism = REALISTIC,
) -> Fragment:
    """Trim an RGBA cutout to its visible alpha. The raw crop (same size) gives the old surroundings (its pixels
    outside the cutout) and the edge decontamination; `illuminant` is the light of the source photo."""
    if alpha_extent(rgba[:, :, 3] > 0) is None:
        raise InputError(f"crop {crop_id}: proc.png is fully transparent", where=f"crops/{crop_id}/proc.png")
    src_lab, src_y = None, None
    if raw is not None and raw.shape[:2] == rgba.shape[:2]:
        outside = rgba[:, :, 3] == 0
        if outside.sum() >= 16:
            src_lab = mean_lab(raw, outside)
            src_y = linear_luminance(raw[outside])
        if realism.decontaminate:
            rgba = decontaminate(raw, rgba, realism)
    ext = alpha_extent(rgba[:, :, 3] > 0)
    if ext is None:  # decontamination never empties a cutout; kept for the type checker
        raise InputError(f"crop {crop_id}: proc.png is fully transparent", where=f"crops/{crop_id}/proc.png")
    x0, y0, x1, y1 = ext
    trimmed = np.ascontiguousarray(rgba[y0:y1, x0:x1])
    return Fragment(crop_id, meta, trimmed, SourceLook(src_lab, src_y, illuminant), stamp)


def load_fragment(ws: Workspace, crop_id: str) -> Fragment:
    """Read a crop's proc.png and meta (and raw.png, for the colour of its original surroundings)."""
    proc = ws.proc_path(crop_id)
    if not ws.crop_dir(crop_id).is_dir():
        raise InputError(f"crop {crop_id} does not exist in the workspace", where=str(ws.root / "crops"))
    if not proc.is_file():
        raise InputError(f"crop {crop_id} has no proc.png yet; clean it first (garbtui clean or the TUI)",
                         where=str(proc.parent))
    stamp = proc_stamp(ws, crop_id)
    meta = ws.load_crop_meta(crop_id)
    meta = with_source_k(meta, source_horizon(ws, meta.image_id))
    rgba = read_rgba(proc)
    raw_path = ws.raw_path(crop_id)
    raw = read_rgb(raw_path) if raw_path.is_file() else None
    return fragment_from_rgba(crop_id, meta, rgba, raw, stamp, illuminant=_source_light(ws, meta.image_id))


def _source_light(ws: Workspace, image_id: str) -> NDArray[np.float32] | None:
    """The illuminant of a crop's source photo (None when the photo is not in the workspace)."""
    try:
        return source_illuminant(ws.image_path(image_id))
    except GarbError:
        return None


def source_horizon(ws: Workspace, image_id: str | None) -> float | None:
    """The horizon row of a crop's source photo, when someone has set or estimated it."""
    if image_id is None:
        return None
    try:
        return ws.load_image_meta(image_id).horizon_row
    except GarbError:
        return None


def proc_stamp(ws: Workspace, crop_id: str) -> FileStamp | None:
    """proc.png's version (None when missing): a re-saved cutout (atomic replace, new inode) invalidates
    cached fragments even on file systems with coarse timestamps."""
    return FileStamp.of(ws.proc_path(crop_id))


def cutout_from_mask(rgb: NDArray[np.uint8], mask: NDArray[np.bool_]) -> NDArray[np.uint8]:
    """An RGBA cutout: the photo with alpha 255 inside `mask`, 0 elsewhere (e.g. from a ground-truth polygon)."""
    rgba = np.dstack([rgb, np.where(mask, 255, 0).astype(np.uint8)])
    return rgba


@dataclass(frozen=True)
class Transformed:
    """A transformed fragment in float32: premultiplication undone, alpha 0..255, trimmed to alpha > 0."""

    rgb: NDArray[np.float32]  # h x w x 3, 0..255
    alpha: NDArray[np.float32]  # h x w, 0..255
    scale: float = 1.0  # the scale it was made at (> 1: enlarged, never sharpened)


def premultiply(rgba: NDArray[np.uint8], flip: bool = False) -> NDArray[np.float32]:
    """An RGBA cutout (mirrored with flip) as float32 with colour premultiplied by alpha: what every
    transform starts from, and what a cache of fragments may keep to skip this step."""
    img = rgba[:, ::-1] if flip else rgba
    a = img[:, :, 3:4].astype(np.float32)
    return np.concatenate([img[:, :, :3].astype(np.float32) * (a / 255.0), a], axis=2)


def transform_fragment(rgba: NDArray[np.uint8], scale: float, rotation: float = 0.0, flip: bool = False) -> Transformed:
    """Flip (horizontal), scale, then rotate (degrees, anticlockwise on screen) an RGBA cutout.

    Resampling runs on premultiplied colour so transparent pixels never bleed a dark or stale fringe.
    Downscaling uses area averaging (no aliasing), enlarging and rotating bicubic interpolation (bilinear
    visibly softened every rotated fragment); rotation expands the canvas so nothing is cut.
    """
    return transform_premultiplied(premultiply(rgba, flip), scale, rotation)


def transform_premultiplied(pm: NDArray[np.float32], scale: float, rotation: float = 0.0) -> Transformed:
    """transform_fragment on an already premultiplied (and flipped) fragment (see premultiply)."""
    h, w = pm.shape[:2]
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    if max(nw, nh) > MAX_FRAGMENT_SIDE:
        raise InputError(f"scale {scale:g} makes the fragment {nw}x{nh} px, over {MAX_FRAGMENT_SIDE} px a side")
    if (nw, nh) != (w, h):
        interp = cv2.INTER_AREA if nw < w or nh < h else cv2.INTER_CUBIC
        pm = as_f32(cv2.resize(pm, (nw, nh), interpolation=interp))
    rot = rotation % 360.0
    if rot != 0.0:
        rad = math.radians(rot)
        c, s = abs(math.cos(rad)), abs(math.sin(rad))
        bw = int(math.ceil(nw * c + nh * s)) + 2
        bh = int(math.ceil(nw * s + nh * c)) + 2
        m = cv2.getRotationMatrix2D(((nw - 1) / 2.0, (nh - 1) / 2.0), rot, 1.0)
        m[0, 2] += (bw - 1) / 2.0 - (nw - 1) / 2.0
        m[1, 2] += (bh - 1) / 2.0 - (nh - 1) / 2.0
        pm = as_f32(cv2.warpAffine(pm, m, (bw, bh), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT, borderValue=0))
    alpha = np.clip(pm[:, :, 3], 0.0, 255.0)
    alpha[alpha <= 0.5] = 0.0  # bicubic ringing leaves faint non-zero alpha around the object
    safe = np.maximum(alpha, 1e-3)[:, :, None] / 255.0
    rgb = np.clip(pm[:, :, :3] / safe, 0.0, 255.0)
    rgb[alpha <= 0] = 0.0
    return Transformed(rgb.astype(np.float32), alpha.astype(np.float32), float(scale))


def outline_cutout(ws: Workspace, crop_id: str) -> NDArray[np.uint8]:
    """An RGBA cutout of a crop from its annotated outline (polygon, brush or box): exact, no k-means.

    For sources whose annotations already trace the object (COCO / TACO polygons, brush masks), this is
    a ready proc.png; save it with Workspace.save_proc.
    """
    from garbtui.core.workspace.regions import region_mask

    meta = ws.load_crop_meta(crop_id)
    raw = read_rgb(ws.raw_path(crop_id))
    mask = region_mask(meta, ws.crop_dir(crop_id))
    return cutout_from_mask(raw, mask)
