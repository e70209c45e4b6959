"""Backgrounds: clean photos copied into the workspace with their meta, horizon and placement area.

The optional surface map of a background (or source photo), `seg.json` + `seg.png`, is described in
surfaces.py; together with the background meta's placement band (y_min..y_max) and polygons it decides
whether a contact point is allowed (`placement_check`) and whether a placed object's whole lower edge
lies on the ground (`lower_edge_check`).

Horizon rule: an estimate is used only at confidence >= TRUSTED_HORIZON_CONFIDENCE (0.30) and above the
lowest quarter of the photo; otherwise it is stored as `horizon_suggested` and `horizon_row` stays
empty, and the background is placed by its surfaces and the fragments' own source scale.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from garbtui.core.errors import InputError, WorkspaceError
from garbtui.core.scene.horizon import HorizonEstimate, estimate_horizon
from garbtui.core.scene.surfaces import FORBIDDEN, GROUND_SURFACES, SEG_FILE, SURFACES, SegMap, SegRegion, inside_polygon
from garbtui.core.workspace.atomic import atomic_copy, atomic_write_png
from garbtui.core.workspace.ids import check_id, file_sha1, slugify
from garbtui.core.workspace.imageio import probe_image, read_rgb
from garbtui.core.workspace.models import (
    CAMERA_HEIGHT_M,
    TRUSTED_HORIZON_CONFIDENCE,
    BackgroundMeta,
    PlacementArea,
    SceneKind,
)
from garbtui.core.workspace.store import Workspace

GARBAGE_SURFACES: tuple[str, ...] = GROUND_SURFACES
MIN_SIDE = 16  # px: a thinner photo cannot be a background (nor be analysed for a horizon)
LOWEST_TRUSTED_ROW = 0.75  # an estimated horizon below this fraction of the height is not trusted either
HORIZON_MARGIN = 0.02  # the default placement band starts this fraction of the height below the horizon
LOWER_EDGE_OFF = 0.10  # share of a placed object's lower edge that may miss the ground before it is flagged
LOWER_EDGE_FORBIDDEN = 0.02  # share that may touch a vehicle, person, sky or building (a seg.png's ragged border)
__all__ = ["SEG_FILE", "SegMap", "SegRegion", "load_seg", "lower_edge_check", "placement_check", "road_span"]


@dataclass(frozen=True)
class AreaCheck:
    """Whether a contact point is where garbage may lie, and why not."""

    ok: bool
    reason: str = ""


def load_seg(ws: Workspace, bg_id: str) -> SegMap | None:
    return SegMap.load_from(ws.background_dir(bg_id))


def trusted_horizon(meta: BackgroundMeta) -> float | None:
    """The horizon row placement and scale may use: a typed row, or an estimate trusted by the rule above."""
    row = meta.horizon_row
    if row is None or meta.scene != "road" or not (0 <= row < meta.height):
        return None
    return row


def horizon_advice(meta: BackgroundMeta) -> str | None:
    """What the user should know about a road background's horizon (None when all is well), in core terms."""
    if meta.scene != "road" or meta.horizon_row is not None:
        return None
    if meta.horizon_suggested is not None:
        conf = meta.horizon_confidence
        low = conf is not None and conf < TRUSTED_HORIZON_CONFIDENCE
        why = (f"confidence {conf:.2f} < {TRUSTED_HORIZON_CONFIDENCE:.2f}" if low
               else "the row lies in the lowest quarter of the photo")
        return (f"horizon not trusted (estimate row {meta.horizon_suggested:g}, {why}): objects are placed by the "
                f"photo's surfaces and their source scale; type the horizon row if you know it")
    return ("no horizon found (the lane lines did not agree): objects are placed by the photo's surfaces and "
            "their source scale; type the horizon row if you know it")


def placement_check(meta: BackgroundMeta, seg: SegMap | None, x: float, y: float) -> AreaCheck:
    """Is the contact point (x, y) inside the background's placement area (band, polygons, seg.json)?"""
    area = meta.placement
    if not (0 <= x <= meta.width and 0 <= y <= meta.height):
        return AreaCheck(False, f"contact point ({x:g}, {y:g}) is outside the {meta.width}x{meta.height} image")
    if area.y_min is not None and y < area.y_min:
        return AreaCheck(False, f"y={y:g} is above the placement band (y_min {area.y_min:g})")
    if area.y_max is not None and y > area.y_max:
        return AreaCheck(False, f"y={y:g} is below the placement band (y_max {area.y_max:g})")
    if area.polygons and not any(len(p) >= 3 and inside_polygon(p, x, y) for p in area.polygons):
        return AreaCheck(False, f"({x:g}, {y:g}) is outside every placement polygon")
    if seg is not None:
        surface = _surface_at(meta, seg, x, y)
        if surface is None or surface not in seg.garbage_surfaces:
            return AreaCheck(False, f"({x:g}, {y:g}) lies on {surface or 'no marked surface'} in seg.json, "
                                    f"not on {'/'.join(seg.garbage_surfaces)}")
    return AreaCheck(True)


def _surface_at(meta: BackgroundMeta, seg: SegMap, x: float, y: float) -> str | None:
    """The surface under background pixel (x, y): on seg.png when it belongs to seg.json, else by its polygons."""
    if seg.label_map is not None:
        labels = seg.labels_at(meta.width, meta.height)
        xi, yi = min(max(int(x), 0), meta.width - 1), min(max(int(y - 0.5), 0), meta.height - 1)
        sid = int(labels[yi, xi])
        return SURFACES[sid] if 0 < sid < len(SURFACES) else None
    # polygons only (written by hand): their own surface names
    return seg.surface_at(x * seg.width / meta.width, y * seg.height / meta.height)


def lower_edge_check(meta: BackgroundMeta, seg: SegMap | None, mask: NDArray[np.bool_], offset: tuple[int, int],
                     factor: float = 1.0) -> AreaCheck:
    """Does a placed object's lower edge (its lowest visible pixel in every column) lie on seg.json's ground?

    `mask` is the object's own visible pixels in render pixels with its top-left at `offset`; `factor` is
    render pixels per background pixel. Not ok when more than LOWER_EDGE_OFF of the edge misses the ground
    surfaces, or more than LOWER_EDGE_FORBIDDEN of it touches a vehicle, person, sky or building. Without
    seg.json there is nothing to check it against (ok).
    """
    if seg is None or mask.size == 0:
        return AreaCheck(True)
    columns = np.flatnonzero(mask.any(axis=0))
    if columns.size == 0:
        return AreaCheck(True)
    lowest = mask.shape[0] - 1 - np.argmax(mask[::-1, columns], axis=0)
    xs = (offset[0] + columns + 0.5) / factor
    ys = (offset[1] + lowest + 1.0) / factor  # the bottom of the lowest pixel, as a contact point's y
    inside = (xs >= 0) & (xs < meta.width) & (ys > 0) & (ys <= meta.height)
    if not inside.any():
        return AreaCheck(True)
    surfaces = [_surface_at(meta, seg, float(x), float(y)) for x, y in zip(xs[inside], ys[inside], strict=True)]
    off = [name or "no marked surface" for name in surfaces if name not in seg.garbage_surfaces]
    forbidden = sum(1 for name in off if name in FORBIDDEN)
    if len(off) <= LOWER_EDGE_OFF * len(surfaces) and forbidden <= LOWER_EDGE_FORBIDDEN * len(surfaces):
        return AreaCheck(True)
    hit = sorted(set(off), key=lambda name: (-off.count(name), name))
    return AreaCheck(False, f"its lower edge is {100 * len(off) / len(surfaces):.0f}% off the ground in seg.json "
                            f"(on {', '.join(hit)})")


def default_area(scene: str, height: int, horizon: float | None) -> PlacementArea:
    """Road: a band from just below the horizon to the bottom. Front: anywhere."""
    if scene == "road" and horizon is not None:
        return PlacementArea(y_min=round(min(horizon + HORIZON_MARGIN * height, height), 1), y_max=float(height))
    return PlacementArea()


@dataclass(frozen=True)
class AddedBackground:
    """What add_background did: the meta, the horizon estimate when one ran, and whether it was new."""

    meta: BackgroundMeta
    estimate: HorizonEstimate | None
    created: bool


def add_background(
    ws: Workspace,
    path: Path,
    scene: str,
    horizon: float | None = None,
    camera_height: float | None = None,
    bg_id: str | None = None,
) -> BackgroundMeta:
    """Copy a clean photo into `backgrounds/<id>/` with its meta; the horizon is estimated when not given.

    Road photos without `horizon` get an estimate (meta.horizon_estimated = True; None when no lines
    agreed). Adding the same photo again under the same id updates the meta, never the image, and
    keeps a horizon row that was typed earlier unless a new one is given.
    """
    return add_background_ex(ws, path, scene, horizon, camera_height, bg_id).meta


def add_background_ex(
    ws: Workspace,
    path: Path,
    scene: str,
    horizon: float | None = None,
    camera_height: float | None = None,
    bg_id: str | None = None,
) -> AddedBackground:
    """add_background, also returning the horizon estimate (for the CLI and TUI to show)."""
    path = Path(path)
    if scene not in ("road", "front"):
        raise InputError(f"scene must be road or front, got {scene!r}", field="scene")
    low, high = CAMERA_HEIGHT_M
    if camera_height is not None and not (low <= camera_height <= high):
        raise InputError(f"camera height must be {low:g} to {high:g} metres, got {camera_height:g}", field="camera_height")
    info = probe_image(path)
    if min(info.width, info.height) < MIN_SIDE:
        raise InputError(f"photo is {info.width}x{info.height}: a background needs at least {MIN_SIDE} px each way",
                         where=str(path))
    if horizon is not None and not (0 <= horizon < info.height):
        raise InputError(f"horizon row {horizon:g} is outside the image (0..{info.height - 1})", where=str(path),
                         field="horizon")
    kind: SceneKind = "road" if scene == "road" else "front"
    digest = file_sha1(path)
    bg_id = check_id(bg_id, "background id", field="bg_id") if bg_id else f"{slugify(path.stem, 48)}-{digest[:6]}"
    folder = ws.background_dir(bg_id)
    rgb: NDArray[np.uint8] | None = None
    suffix = path.suffix.lower()
    # The stored photo must be upright: copy the bytes when no EXIF turn is needed, else re-encode as PNG.
    copied = info.orientation == 1 and suffix in (".jpg", ".jpeg", ".png")
    file_name = ("image.png" if suffix == ".png" else "image.jpg") if copied else "image.png"
    if not copied:
        rgb = _upright_rgb(path)
    estimates: list[HorizonEstimate] = []  # at most one, made only when a meta needs it
    stored: list[str] = []  # the stored photo's sha1, once written

    def estimate() -> HorizonEstimate:
        if not estimates:
            # From the photo being added (upright), before anything is written: a failure leaves nothing behind.
            estimates.append(_estimate(read_rgb(path) if rgb is None else rgb))
        return estimates[0]

    def store_photo() -> str:
        """Write the photo once (a meta always has its photo, never the other way round); its sha1."""
        if not stored:
            target = folder / file_name
            if not target.is_file():
                if copied:
                    atomic_copy(path, target)
                else:
                    assert rgb is not None
                    atomic_write_png(target, rgb)
            stored.append(digest if copied else file_sha1(target))
        return stored[0]

    def build(current: BackgroundMeta | None) -> BackgroundMeta:
        """The background's meta from the arguments, keeping what `current` (the meta on disk) must keep."""
        if current is not None:
            _same_photo(current, digest)
        row, estimated, confidence, suggested = horizon, False, None, None
        if (kind == "road" and row is None and current is not None and current.scene == "road"
                and current.horizon_row is not None and not current.horizon_estimated):
            row = current.horizon_row  # a row the user typed is never replaced by an estimate
        if kind == "road" and row is None:
            found = estimate()
            row = None if found.row is None else round(found.row, 1)
            estimated = True
            confidence = round(found.confidence, 3)
            if row is not None and (confidence < TRUSTED_HORIZON_CONFIDENCE or row > LOWEST_TRUSTED_ROW * info.height):
                row, suggested = None, row  # never used: a suggestion for the user to check
        meta = BackgroundMeta(
            id=bg_id,
            file=current.file if current is not None else file_name,
            source_path=str(path),
            width=info.width,
            height=info.height,
            scene=kind,
            horizon_row=row,
            horizon_estimated=estimated,
            horizon_confidence=confidence,
            horizon_suggested=suggested,
            camera_height_m=camera_height if camera_height is not None else (current.camera_height_m if current else 1.5),
            placement=default_area(kind, info.height, row),
            source_sha1=digest,
            file_sha1=current.file_sha1 if current is not None else None,
        )
        if current is None:
            meta.file_sha1 = store_photo()
        return meta

    def rewrite(current: BackgroundMeta) -> None:
        new = build(current)
        for name in BackgroundMeta.model_fields:
            setattr(current, name, getattr(new, name))

    def undo() -> None:
        """A new background that failed before its meta.json was written leaves no photo behind."""
        with contextlib.suppress(OSError):
            if stored:
                (folder / file_name).unlink()
            if set(os.listdir(folder)) <= {".lock"}:  # nor an empty folder that would list as a broken background
                (folder / ".lock").unlink(missing_ok=True)
                folder.rmdir()

    # Decided under the background's lock: two adds of one photo at once never replace each other's meta
    # (a typed horizon survives an estimate made by the other).
    meta, created = ws.create_or_update_meta(BackgroundMeta, bg_id, lambda: build(None), rewrite, undo)
    return AddedBackground(meta, estimates[0] if estimates else None, created)


def _estimate(rgb: NDArray[np.uint8]) -> HorizonEstimate:
    """The horizon estimate; a photo OpenCV cannot analyse gets none (the user types the row), not a crash."""
    try:
        return estimate_horizon(rgb)
    except (cv2.error, ValueError, ZeroDivisionError):
        return HorizonEstimate(None, 0.0)


def _same_photo(meta: BackgroundMeta, digest: str) -> None:
    """Refuse to re-add a background id with another photo than the one it was made from."""
    if meta.source_sha1 and meta.source_sha1 != digest:
        raise WorkspaceError(f"background {meta.id} already exists with a different photo; pick another id",
                             field="bg_id")


def _upright_rgb(path: Path) -> NDArray[np.uint8]:
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))


def set_horizon(ws: Workspace, bg_id: str, row: float) -> BackgroundMeta:
    """Type the horizon row of a background by hand; the placement band follows it."""

    def change(meta: BackgroundMeta) -> None:
        if not (0 <= row < meta.height):
            raise InputError(f"horizon row {row:g} is outside background {bg_id} (0..{meta.height - 1})",
                             field="horizon")
        meta.horizon_row = float(row)
        meta.horizon_estimated = False
        meta.horizon_confidence = None
        meta.horizon_suggested = None
        meta.placement = default_area(meta.scene, meta.height, meta.horizon_row)

    # Under the background's lock, so a camera height or area another person saves meanwhile is kept.
    return ws.update_meta(BackgroundMeta, bg_id, change)



def scaled_area(area: PlacementArea, factor: float) -> PlacementArea:
    """The placement area in a resized copy of the background."""
    return PlacementArea(
        y_min=None if area.y_min is None else area.y_min * factor,
        y_max=None if area.y_max is None else area.y_max * factor,
        polygons=[[(x * factor, y * factor) for x, y in poly] for poly in area.polygons],
    )


def horizon_summary(meta: BackgroundMeta) -> str:
    """One line for listings: 'row 423 (estimated, confidence 0.49)' and the like."""
    if meta.horizon_row is None:
        if meta.scene == "road" and meta.horizon_suggested is not None:
            conf = meta.horizon_confidence
            return (f"not trusted (suggested row {meta.horizon_suggested:g}"
                    + (f", confidence {conf:.2f}" if conf is not None else "") + ")")
        return "not set" if meta.scene == "road" else "-"
    text = f"row {meta.horizon_row:g}"
    if meta.horizon_estimated:
        conf = meta.horizon_confidence
        text += " (estimated" + (f", confidence {conf:.2f}" if conf is not None else "") + ")"
    return text


def road_span(seg: SegMap | None, width: int, height: int, y: float) -> tuple[float, float] | None:
    """Left and right road edges (pixels of a width x height photo) on row y, from a seg.json road region."""
    if seg is None:
        return None
    fx, fy = seg.width / width, seg.height / height
    sy = y * fy
    xs: list[float] = []
    for region in seg.regions:
        if region.surface != "road":
            continue
        for poly in region.polygons:
            n = len(poly)
            for i in range(n):
                (ax, ay), (bx, by) = poly[i], poly[(i + 1) % n]
                if (ay <= sy < by) or (by <= sy < ay):
                    xs.append((ax + (sy - ay) * (bx - ax) / (by - ay)) / fx)
    if len(xs) < 2:
        return None
    return min(xs), max(xs)
