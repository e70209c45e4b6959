"""Recreate the garbage layout of an annotated reference photo on a clean background, as a saved scene.

Each annotated object of the reference image (its crops) becomes one placement: the same label (its
own cleaned crop when there is one, else another cleaned fragment of that label, else the nearest
class, see taxonomy.nearest_label), at the corresponding position, perspective-scaled. How positions
and sizes carry over depends on what is known about the two photos:

- `perspective`: both are road photos with a horizon. An object's depth is the fraction of the ground
  band (horizon .. bottom row) its bottom row sits at; its lateral place is its offset from the
  vanishing point divided by its distance below the horizon, which is proportional to metres from the
  road's centre line on a flat ground plane. Its size keeps the reference's own perspective constant
  k = box height / (bottom - horizon), moved to the background's camera height.
  When both photos have a seg.json with a road region, the lateral place is instead the object's
  fraction of the way between the left and right road edges on its row, kept on the background.
- `band`: the background is a road with a horizon, the reference has none: the reference's rows map
  onto the background's placement band, columns by image width, and sizes come from perspective
  (the fragment's own k or its label's size prior).
- `relative`: otherwise (front backgrounds, road backgrounds without a trusted horizon): positions
  relative to the image size, sizes relative to the image diagonal.

Then every object must lie on the background's ground, as generate's do (scene/ground.py: contact point
and footprint on a garbage surface of its seg.json, else of the automatic estimate; never on a vehicle,
person, sky or building) and be at least MIN_OBJECT_PX on its longest side: one that is not is moved to
the nearest place where it fits (its size follows its new row under perspective), or left out, with a note.

Suspect cutouts (CropMeta.quality, scene/trust.py) are never chosen unless curated or include_suspect: an
object whose own crop is suspect gets another fragment of its label, with a note.

Over 400 lines on purpose: the three mapping modes and the ground fitting share one plan per object and are tested as one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from garbtui.core.compose.fragment import Fragment, load_fragment
from garbtui.core.errors import GarbError, InputError
from garbtui.core.scene.backgrounds import SEG_FILE, SegMap, load_seg, road_span, trusted_horizon
from garbtui.core.scene.ground import MIN_OBJECT_PX, GroundMap, footprint, lower_edge_rise
from garbtui.core.scene.perspective import DEFAULT_CAMERA_HEIGHT_M, resolve_scale
from garbtui.core.scene.segment import background_surfaces
from garbtui.core.scene.size_priors import SizePriors, load_size_priors
from garbtui.core.scene.taxonomy import nearest_label, same_label
from garbtui.core.scene.trust import is_left_out, left_out_note
from garbtui.core.workspace.ids import check_id, is_safe_id, short_hash, slugify
from garbtui.core.workspace.models import BackgroundMeta, BlendMode, ImageMeta, Placement, ScaleFrom, Scene
from garbtui.core.workspace.store import Workspace

MIN_BELOW_HORIZON = 2.0  # px: an object whose bottom is this close to the horizon has no usable depth


@dataclass(frozen=True)
class ReferenceObject:
    """One annotated object of the reference photo: its crop, label and box (reference pixels)."""

    crop_id: str
    label: str
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2.0

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0


@dataclass(frozen=True)
class Frame:
    """What the layout mapping needs of a photo: size, horizon and vanishing point column."""

    width: int
    height: int
    horizon: float | None
    vp_x: float
    camera_height: float
    seg: SegMap | None = None  # road / grass / ... regions (seg.json), for the road edges

    def road_span(self, y: float) -> tuple[float, float] | None:
        span = road_span(self.seg, self.width, self.height, y)
        return span if span is not None and span[1] - span[0] >= 2.0 else None


def reference_objects(ws: Workspace, image_id: str) -> list[ReferenceObject]:
    """The annotated objects of an image (every crop cut from it), top to bottom, left to right."""
    out = []
    for crop_id in ws.crop_ids():
        try:
            meta = ws.load_crop_meta(crop_id)
        except GarbError:
            continue
        if meta.image_id != image_id:
            continue
        b = meta.region.bbox
        out.append(ReferenceObject(crop_id, meta.label, b.x0, b.y0, b.x1, b.y1))
    out.sort(key=lambda o: (o.y1, o.cx, o.crop_id))
    return out


def _reference_frame(ws: Workspace, meta: ImageMeta, notes: list[str]) -> Frame:
    horizon, vp_x = meta.horizon_row, meta.width / 2.0
    if meta.scene == "road" and horizon is None:
        from garbtui.core.scene.horizon import estimate_horizon
        from garbtui.core.workspace.imageio import read_rgb

        est = estimate_horizon(read_rgb(ws.image_path(meta.id)))
        if est.row is not None:
            horizon = est.row
            if est.vanishing_point is not None:
                vp_x = est.vanishing_point[0]
            notes.append(f"reference horizon estimated at row {horizon:.0f} (confidence {est.confidence:.2f})")
        else:
            notes.append("reference horizon unknown and could not be estimated")
    seg_path = ws.image_dir(meta.id) / SEG_FILE
    seg = SegMap.load(seg_path) if seg_path.is_file() else None
    return Frame(meta.width, meta.height, horizon, vp_x, meta.camera_height_m or DEFAULT_CAMERA_HEIGHT_M, seg)


def _background_frame(ws: Workspace, meta: BackgroundMeta) -> Frame:
    vp_x = meta.width / 2.0
    horizon = trusted_horizon(meta)
    if horizon is not None:
        from garbtui.core.scene.horizon import estimate_horizon
        from garbtui.core.workspace.imageio import read_rgb

        # Only the vanishing point's column is taken from the estimate; the row is the (possibly typed) horizon.
        est = estimate_horizon(read_rgb(ws.background_path(meta.id)))
        if est.vanishing_point is not None and abs(est.vanishing_point[1] - horizon) < 0.05 * meta.height:
            vp_x = float(np.clip(est.vanishing_point[0], 0, meta.width))
    return Frame(meta.width, meta.height, horizon, vp_x, meta.camera_height_m, load_seg(ws, meta.id))


class _FragmentPool:
    """Cleaned fragments by label; picks deterministically, preferring fragments not used yet."""

    def __init__(self, ws: Workspace, rng: np.random.Generator, include_suspect: bool = False) -> None:
        self.ws = ws
        self.rng = rng
        self.by_label: dict[str, list[str]] = {}
        self.usable: set[str] = set()
        self.suspects: list[str] = []  # cleaned but suspect (and not curated): left out
        self.used: dict[str, int] = {}
        self._cache: dict[str, Fragment] = {}
        for crop_id in ws.crop_ids():
            if ws.crop_status(crop_id) != "done":
                continue
            try:
                meta = ws.load_crop_meta(crop_id)
            except GarbError:
                continue
            if is_left_out(meta, include_suspect):
                self.suspects.append(crop_id)
                continue
            self.usable.add(crop_id)
            self.by_label.setdefault(meta.label, []).append(crop_id)

    def labels(self) -> list[str]:
        return sorted(self.by_label)

    def candidates(self, label: str) -> list[str]:
        return [c for name, ids in self.by_label.items() if same_label(name, label) for c in ids]

    def pick(self, ids: list[str], exclude_image: str | None) -> str | None:
        pool = [c for c in ids if exclude_image is None or self.fragment(c).meta.image_id != exclude_image]
        if not pool:
            return None
        least = min(self.used.get(c, 0) for c in pool)
        pool = sorted(c for c in pool if self.used.get(c, 0) == least)
        return pool[int(self.rng.integers(len(pool)))]

    def fragment(self, crop_id: str) -> Fragment:
        if crop_id not in self._cache:
            self._cache[crop_id] = load_fragment(self.ws, crop_id)
        return self._cache[crop_id]

    def take(self, crop_id: str) -> Fragment:
        self.used[crop_id] = self.used.get(crop_id, 0) + 1
        return self.fragment(crop_id)


def _choose(pool: _FragmentPool, obj: ReferenceObject, image_id: str, use_own: bool, priors: SizePriors,
            notes: list[str], number: int) -> str | None:
    """The fragment for one reference object; appends a note whenever it is not the object itself."""
    exclude = None if use_own else image_id
    if use_own and obj.crop_id in pool.usable:
        return obj.crop_id
    why = "is suspect (left out)" if obj.crop_id in pool.suspects else "is not cleaned"
    crop = pool.pick(pool.candidates(obj.label), exclude)
    if crop is not None:
        if use_own:
            notes.append(f"object {number} ({obj.label}): its own crop {why}; used {crop} (same label)")
        return crop
    usable = [label for label in pool.labels() if pool.pick(pool.by_label[label], exclude) is not None]
    sub = nearest_label(obj.label, usable, priors)
    if sub is None:
        notes.append(f"object {number} ({obj.label}): no cleaned fragment to use; left out")
        return None
    crop = pool.pick(pool.by_label[sub.label], exclude)
    notes.append(f"object {number} ({obj.label}): no cleaned '{obj.label}' fragment; substituted "
                 f"'{sub.label}' ({sub.reason}): {crop}")
    return crop


def _clamp(value: float, lo: float, hi: float) -> float:
    return float(min(max(value, lo), hi))


def _layout_mode(ref: Frame, bg: BackgroundMeta, objects: list[ReferenceObject]) -> str:
    if trusted_horizon(bg) is not None:
        if ref.horizon is not None and all(o.y1 - ref.horizon >= MIN_BELOW_HORIZON for o in objects):
            return "perspective"
        return "band"
    return "relative"


def _rotation_and_scale(frag: Fragment, target_w: float, target_h: float) -> tuple[float, float]:
    """Turn the fragment a quarter when that matches the target box's aspect better; scale to its area."""
    fw, fh = frag.width_px, frag.height_px
    upright = abs(math.log((fw / fh) / (target_w / target_h)))
    turned = abs(math.log((fh / fw) / (target_w / target_h)))
    rotation = 90.0 if turned + 0.1 < upright else 0.0
    scale = math.sqrt((target_w * target_h) / (fw * fh))
    return rotation, scale


SCENE_ID_MAX = 40  # a default id fits a header, a list row and a folder listing


def default_scene_id(image_id: str, background_id: str) -> str:
    """`rec-<photo>-<background>-<hash>`, at most SCENE_ID_MAX characters: the same pair always gets the
    same id (a re-run replaces its scene); the hash of the whole ids keeps shortened names apart."""
    tag = short_hash(image_id, background_id, length=4)
    room = SCENE_ID_MAX - len("rec---") - len(tag)
    ref = slugify(image_id, room // 2)
    bg = slugify(background_id, room - len(ref))
    return f"rec-{ref}-{bg}-{tag}"


MAX_SCALE = 100.0  # what a Placement accepts


def recreate_scene(
    ws: Workspace,
    reference_image_id: str,
    background_id: str,
    *,
    seed: int = 0,
    scene_id: str | None = None,
    blend: BlendMode = "feather",
    use_own: bool = True,
    include_suspect: bool = False,
) -> tuple[Scene, list[str]]:
    """Build (not render, not save) a scene that lays out the reference photo's objects on the background.

    Returns the scene and notes for the user: horizon estimates, the layout mode, every substitution
    (label -> nearest class, and why) and every position that had to be moved into the placement area.
    use_own=False never uses the reference's own crops (a recreation with other objects of each class).
    Suspect cutouts are left out (a note says how many) unless curated or include_suspect.
    """
    if scene_id is not None and not is_safe_id(scene_id):
        raise InputError(f"scene id {scene_id!r} is not a safe folder name (letters, digits, '.', '_', '-')",
                         field="scene_id")
    check_id(reference_image_id, "image id", field="reference_image_id")
    check_id(background_id, "background id", field="background_id")
    if not (ws.image_dir(reference_image_id) / "meta.json").is_file():
        raise InputError(f"reference image {reference_image_id} does not exist in the workspace",
                         where=str(ws.root / "images"), field="reference_image_id")
    if not (ws.background_dir(background_id) / "meta.json").is_file():
        raise InputError(f"background {background_id} does not exist in the workspace (add it with "
                         "`garbtui background add`)", where=str(ws.root / "backgrounds"), field="background_id")
    ref_meta = ws.load_image_meta(reference_image_id)
    bg_meta = ws.load_background_meta(background_id)
    objects = reference_objects(ws, reference_image_id)
    if not objects:
        raise InputError(f"reference image {reference_image_id} has no annotated objects (no crops)",
                         field="reference_image_id")
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0x5EC7])
    pool = _FragmentPool(ws, rng, include_suspect)
    if not pool.by_label and pool.suspects:
        raise InputError(f"every cleaned fragment is suspect ({left_out_note(pool.suspects)})", field="include_suspect")
    if not pool.by_label:
        raise InputError("the workspace has no cleaned fragments (proc.png); run `garbtui clean` or the TUI first")
    priors = load_size_priors(ws.root)
    notes: list[str] = [left_out_note(pool.suspects)] if pool.suspects else []
    ref = _reference_frame(ws, ref_meta, notes)
    bg = _background_frame(ws, bg_meta)
    mode = _layout_mode(ref, bg_meta, objects)
    notes.append(f"layout: {mode} ({_MODE_TEXT[mode]})")
    area = bg_meta.placement
    # Without a band, a road background still keeps objects on the ground: below its horizon.
    y_lo = area.y_min if area.y_min is not None else (
        bg.horizon + MIN_BELOW_HORIZON if bg.horizon is not None else 0.0)
    y_hi = area.y_max if area.y_max is not None else float(bg.height)
    diag = math.hypot(bg.width, bg.height) / math.hypot(ref.width, ref.height)
    placements: list[Placement] = []
    edges_used = 0
    ground: GroundMap | None = None
    for number, obj in enumerate(objects):
        crop_id = _choose(pool, obj, reference_image_id, use_own, priors, notes, number + 1)  # notes count from 1
        if crop_id is None:
            continue
        frag = pool.take(crop_id)
        rotation = 0.0
        scale_from: ScaleFrom = "relative"
        if mode == "perspective":
            assert ref.horizon is not None and bg.horizon is not None
            below = obj.y1 - ref.horizon
            depth = below / (ref.height - ref.horizon)
            y = bg.horizon + depth * (bg.height - bg.horizon)
            lateral = (obj.cx - ref.vp_x) / below
            x = bg.vp_x + lateral * (y - bg.horizon)
        elif mode == "band":
            y = y_lo + (obj.y1 / ref.height) * (y_hi - y_lo)
            x = obj.cx / ref.width * bg.width
        if mode != "relative":
            span_ref, span_bg = ref.road_span(obj.y1), bg.road_span(y)
            if span_ref is not None and span_bg is not None:
                # Both photos mark their road: keep the object's place between the road edges (0 left, 1 right).
                t = (obj.cx - span_ref[0]) / (span_ref[1] - span_ref[0])
                x = span_bg[0] + t * (span_bg[1] - span_bg[0])
                edges_used += 1
        else:
            x, y = obj.cx / ref.width * bg.width, obj.y1 / ref.height * bg.height
        cx, cy = _clamp(x, 0.0, bg.width), _clamp(y, max(y_lo, 0.0), min(y_hi, bg.height))
        if (abs(cx - x) > 0.5 or abs(cy - y) > 0.5):
            notes.append(f"object {number + 1} ({obj.label}): moved from ({x:.0f}, {y:.0f}) to ({cx:.0f}, {cy:.0f}) "
                         "to stay inside the background's placement area")
        x, y = cx, cy
        if mode == "perspective":
            assert ref.horizon is not None and bg.horizon is not None
            k = obj.height / (obj.y1 - ref.horizon) * ref.camera_height / bg.camera_height
            target_h = max(1.0, k * (y - bg.horizon))
            target_w = obj.width * target_h / obj.height
            rotation, scale = _rotation_and_scale(frag, target_w, target_h)
            scale_from = "perspective"
        elif mode == "band":
            assert bg.horizon is not None  # band layouts need the background's horizon (_layout_mode)
            probe = Placement(crop_id=crop_id, x=x, y=max(y, bg.horizon + MIN_BELOW_HORIZON), scale="auto")
            decision = resolve_scale(probe, frag.meta, frag.height_px, bg_meta, priors, index=number)
            scale = decision.scale
            scale_from = "source-k" if decision.source == "source-k" else "prior" if decision.source == "prior" else "front"
        else:
            rotation, scale = _rotation_and_scale(frag, obj.width * diag, obj.height * diag)
        if not 0 < scale <= MAX_SCALE:
            notes.append(f"object {number + 1} ({obj.label}): fragment {crop_id} would need scale {scale:.3g}; "
                         f"clamped to {min(max(scale, 1e-3), MAX_SCALE):g}")
            scale = min(max(scale, 1e-3), MAX_SCALE)
        if ground is None:
            ground = _ground_map(ws, bg_meta, bg.horizon)
        moved = _onto_ground(ground, frag, x, y, scale, rotation, bg.horizon if mode != "relative" else None,
                             mode == "relative")
        if moved is None:
            notes.append(f"object {number} ({obj.label}): left out: no ground within reach where it is at least "
                         f"{MIN_OBJECT_PX:g} px (on {ground.surface_at(x, y - 0.5)} at ({x:.0f}, {y:.0f}))")
            continue
        nx, ny, nscale = moved
        if abs(nx - x) > 0.5 or abs(ny - y) > 0.5:
            notes.append(f"object {number} ({obj.label}): moved from ({x:.0f}, {y:.0f}) on "
                         f"{ground.surface_at(x, y - 0.5)} to ({nx:.0f}, {ny:.0f}) on {ground.surface_at(nx, ny - 0.5)}")
        x, y, scale = nx, ny, nscale
        placements.append(Placement(crop_id=crop_id, x=round(x, 2), y=round(y, 2), scale=round(scale, 5),
                                    rotation=rotation, blend=blend, scale_from=scale_from))
    if edges_used:
        notes.append(f"{edges_used} object(s) placed between the road edges of both photos (seg.json)")
    if not placements:
        raise InputError(f"no object of reference image {reference_image_id} could be matched to a cleaned fragment")
    if mode == "relative":
        # Close-ups: larger objects first, so a small one lying on a large one (a tab on its can) stays on top.
        placements.sort(key=lambda p: -_placed_area(pool, p))
    else:
        # Ground plane: far objects first, so nearer ones cover them, as in the photo.
        placements.sort(key=lambda p: p.y)
    scene = Scene(
        id=scene_id or default_scene_id(reference_image_id, background_id),
        background_id=background_id,
        seed=seed,
        placements=placements,
        note=f"recreated from image {reference_image_id} ({mode} layout)",
    )
    return scene, notes


def _ground_map(ws: Workspace, meta: BackgroundMeta, horizon: float | None) -> GroundMap:
    surfaces = background_surfaces(ws, meta)
    return GroundMap(surfaces.labels, surfaces.garbage_surfaces, horizon, meta.placement)


def _onto_ground(ground: GroundMap, frag: Fragment, x: float, y: float, scale: float, rotation: float,
                 horizon: float | None, whole: bool) -> tuple[float, float, float] | None:
    """(x, y, scale) of the nearest place where the object lies on ground at >= MIN_OBJECT_PX; None when none.

    Under perspective (a horizon) the size follows the row: scale * (y' - horizon) / (y - horizon).
    """
    k = scale / (y - horizon) if horizon is not None and y - horizon > 0 else None
    rise = lower_edge_rise(frag.rgba[:, :, 3] > 0)

    def fp_at(row: float, s: float) -> tuple[float, float]:
        sc = k * (row - horizon) if k is not None and horizon is not None else s
        return sc, footprint(frag.width_px * sc, frag.height_px * sc, rotation, whole, rise).longest

    sc, longest = fp_at(y, scale)
    if longest < MIN_OBJECT_PX:
        if k is None or horizon is None:
            return None
        y = horizon + (y - horizon) * MIN_OBJECT_PX / max(longest, 1e-6) + 0.5  # nearer rows: larger
        sc, longest = fp_at(y, scale)
    reach = 0.15 * math.hypot(ground.width, ground.height)
    for _ in range(4):
        fp = footprint(frag.width_px * sc, frag.height_px * sc, rotation, whole, rise)
        found = ground.nearest_fit(x, y, fp, reach)
        if found is None:
            return None
        nx, ny = found
        nsc, longest = fp_at(ny, sc)
        if longest < MIN_OBJECT_PX:
            return None
        if ground.fits(nx, ny, footprint(frag.width_px * nsc, frag.height_px * nsc, rotation, whole, rise)):
            return nx, ny, nsc
        x, y, sc = nx, ny, nsc
    return None


def _placed_area(pool: _FragmentPool, p: Placement) -> float:
    frag = pool.fragment(p.crop_id)
    return frag.width_px * frag.height_px * float(p.scale) ** 2


_MODE_TEXT = {
    "perspective": "depth below the horizon, offset from the vanishing point, reference perspective constant",
    "band": "reference rows mapped onto the placement band, sizes by perspective",
    "relative": "positions relative to the image size, sizes relative to the image diagonal",
}
