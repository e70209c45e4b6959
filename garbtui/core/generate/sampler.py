"""Random but plausible scenes, by scene kind, as recipes: a pure function of (settings, workspace, index).

- road backgrounds: fragments lie along the road edges (the seg.json road region's borders, else two
  lines through the vanishing point), inside the placement band, scaled by perspective
  (h_px = k * (y - horizon)), far ones drawn first;
- front backgrounds: one to a few large fragments near the centre, any orientation.

Each scene draws from its own generator, seeded with (seed, index): a scene never depends on which
worker renders it. Classes are balanced over the run: each placement takes the class placed least
so far (ties broken by that generator), then its least-used fragment. That makes planning
sequential, so recipes are planned up front in one process (cheap: no image is decoded) and
rendered anywhere.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from garbtui.core.compose.fragment import alpha_extent
from garbtui.core.errors import GarbError, InputError
from garbtui.core.generate.recipe import ALL_MODES, BlendChoice, Recipe, RunSettings, Split
from garbtui.core.scene.backgrounds import SegMap, load_seg, placement_check, road_span
from garbtui.core.scene.perspective import resolve_scale, with_source_k
from garbtui.core.scene.size_priors import SizePriors, load_size_priors
from garbtui.core.scene.trust import is_left_out, left_out_note
from garbtui.core.workspace.imageio import probe_image, read_rgba
from garbtui.core.workspace.models import BackgroundMeta, BlendMode, CropMeta, Placement
from garbtui.core.workspace.store import Workspace

MIN_OBJECT_PX = 8.0  # output pixels: smaller objects teach a detector nothing
MAX_OBJECT_FRACTION = 0.5  # of the output's shorter side, road scenes
ROAD_HALF_WIDTH = 0.35  # road half-width at the bottom row, fraction of the photo width (no seg.json)
EDGE_JITTER = 0.015  # fraction of the photo width added to the edge scatter
ATTEMPTS = 12
SAMPLE_BLEND_WEIGHTS: dict[BlendMode, float] = {"none": 0.4, "feather": 0.4, "poisson": 0.2}
SPLIT_STREAM = 0x5B117  # a seed stream apart from every scene index


@dataclass(frozen=True)
class FragmentInfo:
    """A cleaned crop as the sampler needs it: label and visible size, no pixels."""

    crop_id: str
    label: str
    width: int  # visible (alpha) extent of proc.png
    height: int
    meta: CropMeta
    source_camera_height: float | None


@dataclass(frozen=True)
class BackgroundInfo:
    """A background with its surface map and vanishing point column (road)."""

    meta: BackgroundMeta
    seg: SegMap | None
    vp_x: float


@dataclass
class Catalog:
    """Everything a run draws from, in a stable order."""

    fragments: list[FragmentInfo]
    backgrounds: list[BackgroundInfo]
    priors: SizePriors
    notes: list[str] = field(default_factory=list)
    suspects: list[str] = field(default_factory=list)  # suspect cutouts left out (scene/trust.py)

    @property
    def categories(self) -> list[str]:
        return sorted({f.label for f in self.fragments})


def build_catalog(ws: Workspace, background_ids: list[str] | None = None, *, include_suspect: bool = False) -> Catalog:
    """Cleaned fragments and usable backgrounds of the workspace; raises InputError when either is missing.
    Suspect cutouts (CropMeta.quality) are left out, with a note, unless curated or include_suspect."""
    notes: list[str] = []
    suspects: list[str] = []
    frags: list[FragmentInfo] = []
    cams: dict[str, float | None] = {}
    horizons: dict[str, float | None] = {}
    for crop_id in ws.crop_ids():
        if ws.crop_status(crop_id) != "done":
            continue
        try:
            meta = ws.load_crop_meta(crop_id)
            ext = alpha_extent(read_rgba(ws.proc_path(crop_id))[:, :, 3] > 0)
        except GarbError as exc:
            notes.append(f"crop {crop_id} skipped: {exc}")
            continue
        if ext is None:
            notes.append(f"crop {crop_id} skipped: proc.png is fully transparent")
            continue
        if is_left_out(meta, include_suspect):
            suspects.append(crop_id)
            continue
        if meta.image_id not in cams:
            try:
                image = ws.load_image_meta(meta.image_id)
                cams[meta.image_id] = image.camera_height_m
                horizons[meta.image_id] = image.horizon_row
            except GarbError:
                cams[meta.image_id] = horizons[meta.image_id] = None
        meta = with_source_k(meta, horizons[meta.image_id])  # a source horizon gives the fragment its own k
        frags.append(FragmentInfo(crop_id, meta.label, ext[2] - ext[0], ext[3] - ext[1], meta, cams[meta.image_id]))
    if not frags and suspects:
        raise InputError(f"every cleaned fragment is suspect ({left_out_note(suspects)})", where=str(ws.root),
                         field="include_suspect")
    if not frags:
        raise InputError("the workspace has no cleaned fragments (proc.png); run `garbtui clean` or the TUI first",
                         where=str(ws.root))
    if suspects:
        notes.append(left_out_note(suspects))
    ids = background_ids if background_ids else ws.background_ids()
    bgs: list[BackgroundInfo] = []
    for bg_id in sorted(set(ids)):
        if not (ws.background_dir(bg_id) / "meta.json").is_file():
            raise InputError(f"background {bg_id} does not exist in the workspace", where=str(ws.root / "backgrounds"),
                             field="backgrounds")
        try:  # an unusable background (a meta that makes no sense, a broken seg.json) is skipped, not fatal
            bg_meta = ws.load_background_meta(bg_id)
            seg = load_seg(ws, bg_id)
            info = probe_image(ws.background_path(bg_id))  # the header only
        except GarbError as exc:
            notes.append(f"background {bg_id} skipped: {exc}")
            continue
        if (info.width, info.height) != (bg_meta.width, bg_meta.height):
            notes.append(f"background {bg_id} skipped: {bg_meta.file} is {info.width}x{info.height} but meta.json says "
                         f"{bg_meta.width}x{bg_meta.height}")
            continue
        if bg_meta.scene == "road" and bg_meta.horizon_row is None:
            notes.append(f"background {bg_id} skipped: a road photo without a horizon row "
                         f"(set one with `garbtui background horizon {bg_id} ROW`)")
            continue
        bgs.append(BackgroundInfo(bg_meta, seg, _vanishing_x(ws, bg_meta, seg)))
    if not bgs:
        skipped = [n for n in notes if n.startswith("background ")]  # say why, when there were some
        raise InputError("no usable background: " + "; ".join(skipped) if skipped else
                         "no usable background (add clean photos with `garbtui background add`)", where=str(ws.root))
    return Catalog(frags, bgs, load_size_priors(ws.root), notes, suspects)


def _vanishing_x(ws: Workspace, meta: BackgroundMeta, seg: SegMap | None) -> float:
    """Column of the vanishing point on a road photo (the estimate's, when it agrees with the horizon row)."""
    if meta.scene != "road" or meta.horizon_row is None:
        return meta.width / 2.0
    from garbtui.core.scene.horizon import estimate_horizon
    from garbtui.core.workspace.imageio import read_rgb

    est = estimate_horizon(read_rgb(ws.background_path(meta.id)))
    if est.vanishing_point is not None and abs(est.vanishing_point[1] - meta.horizon_row) < 0.05 * meta.height:
        return float(np.clip(est.vanishing_point[0], 0.0, meta.width))
    return meta.width / 2.0


# -- geometry of one background at the output size ----------------------------------------------------
def cover_window(meta: BackgroundMeta, size: tuple[int, int]) -> tuple[tuple[float, float, float, float], float]:
    """The largest window of the output's aspect inside the photo (whole pixels), and output px per photo px.

    Road photos keep the horizon near the top third when they must lose rows, so the ground band stays.
    """
    W, H = size
    bw, bh = meta.width, meta.height
    s = max(W / bw, H / bh)
    ww, wh = min(bw, round(W / s)), min(bh, round(H / s))
    x0 = (bw - ww) // 2
    if meta.scene == "road" and meta.horizon_row is not None:
        y0 = int(np.clip(round(meta.horizon_row - 0.3 * wh), 0, bh - wh))
    else:
        y0 = (bh - wh) // 2
    return (float(x0), float(y0), float(x0 + ww), float(y0 + wh)), W / ww


def _edge_x(bg: BackgroundInfo, y: float, side: int) -> float:
    meta = bg.meta
    span = road_span(bg.seg, meta.width, meta.height, y)
    if span is not None:
        return span[0] if side < 0 else span[1]
    hz = float(meta.horizon_row or 0.0)
    depth = (y - hz) / max(1.0, meta.height - hz)
    return bg.vp_x + side * ROAD_HALF_WIDTH * meta.width * depth


# -- planning -----------------------------------------------------------------------------------------
class _Balancer:
    """Least-placed class first, then its least-used fragment; ties broken by the scene's generator."""

    def __init__(self, fragments: list[FragmentInfo]) -> None:
        self.label_count = {f.label: 0 for f in fragments}
        self.frag_count = {f.crop_id: 0 for f in fragments}

    def pick(self, rng: np.random.Generator, allowed: list[FragmentInfo]) -> FragmentInfo:
        """Among `allowed` (the fragments that fit this background), the least-placed class's least-used one."""
        low = min(self.label_count[f.label] for f in allowed)
        labels = sorted({f.label for f in allowed if self.label_count[f.label] == low})
        label = labels[int(rng.integers(len(labels)))]
        frags = [f for f in allowed if f.label == label]
        low_f = min(self.frag_count[f.crop_id] for f in frags)
        pool = [f for f in frags if self.frag_count[f.crop_id] == low_f]
        return pool[int(rng.integers(len(pool)))]

    def commit(self, frag: FragmentInfo) -> None:
        self.label_count[frag.label] += 1
        self.frag_count[frag.crop_id] += 1


@dataclass(frozen=True)
class _Fit:
    """A fragment on one road background at the output size: its perspective constant and allowed rows."""

    frag: FragmentInfo
    k: float
    y_lo: float  # photo rows where it is at least MIN_OBJECT_PX and at most MAX_OBJECT_FRACTION tall/wide
    y_hi: float


def _road_fits(bg: BackgroundInfo, catalog: Catalog, window: tuple[float, float, float, float], s: float,
               size: tuple[int, int]) -> list[_Fit]:
    meta = bg.meta
    hz = float(meta.horizon_row or 0.0)
    band_lo = meta.placement.y_min if meta.placement.y_min is not None else hz + 1.0
    band_hi = meta.placement.y_max if meta.placement.y_max is not None else float(meta.height)
    fits = []
    for frag in catalog.fragments:
        probe = Placement(crop_id=frag.crop_id, x=meta.width / 2.0, y=meta.height - 0.5, scale="auto")
        dec = resolve_scale(probe, frag.meta, frag.height, meta, catalog.priors,
                            source_camera_height=frag.source_camera_height)
        k = float(dec.target_height_px or 0.0) / max(1e-6, meta.height - 0.5 - hz)
        if k <= 0:
            continue
        longest = max(frag.width, frag.height) / frag.height  # longest side per unit of height
        y_lo = max(band_lo, window[1], hz + MIN_OBJECT_PX / (k * s))
        y_hi = min(band_hi, window[3] - 0.5, hz + MAX_OBJECT_FRACTION * min(size) / (k * s * longest))
        if y_hi > y_lo:
            fits.append(_Fit(frag, k, y_lo, y_hi))
    return fits


def is_val(seed: int, index: int, fraction: float) -> bool:
    """Scene `index` goes to val: an evenly spread, seed-shifted fraction of indices, independent of --count."""
    if fraction <= 0:
        return False
    phase = float(np.random.default_rng([seed, SPLIT_STREAM]).random())
    return math.floor((index + 1) * fraction + phase) > math.floor(index * fraction + phase)


def _blend(rng: np.random.Generator, mode: BlendChoice) -> BlendMode:
    if mode == "sample":
        names = list(SAMPLE_BLEND_WEIGHTS)
        return names[int(rng.choice(len(names), p=list(SAMPLE_BLEND_WEIGHTS.values())))]
    return "feather" if mode == "all" else mode


def _road_placements(rng: np.random.Generator, bg: BackgroundInfo, window: tuple[float, float, float, float],
                     s: float, fits: list[_Fit], n: int, balancer: _Balancer, blend: BlendChoice) -> list[Placement]:
    meta = bg.meta
    hz = float(meta.horizon_row or 0.0)
    wx0, wy0, wx1, _ = window
    by_id = {fit.frag.crop_id: fit for fit in fits}
    allowed = [fit.frag for fit in fits]
    out: list[Placement] = []
    if not allowed:
        return out  # every fragment would be too small (or too large) on this photo at this size
    for _ in range(n):
        for _attempt in range(ATTEMPTS):
            fit = by_id[balancer.pick(rng, allowed).crop_id]
            frag = fit.frag
            y = float(rng.uniform(fit.y_lo, fit.y_hi))
            side = -1 if rng.random() < 0.5 else 1
            target_h = fit.k * (y - hz)
            target_w = target_h * frag.width / frag.height
            x = _edge_x(bg, y, side) + float(rng.normal(0.0, 0.5 * target_w + EDGE_JITTER * meta.width))
            if not (wx0 + 0.5 * target_w <= x <= wx1 - 0.5 * target_w):
                continue
            if not placement_check(meta, bg.seg, x, y).ok:
                continue
            balancer.commit(frag)
            out.append(Placement(
                crop_id=frag.crop_id,
                x=round((x - wx0) * s, 3),
                y=round((y - wy0) * s, 3),
                scale=round(target_h * s / frag.height, 6),
                rotation=round(float(rng.uniform(-20.0, 20.0)), 3),
                flip=bool(rng.random() < 0.5),
                blend=_blend(rng, blend),
            ))
            break
    return out


MAX_FRONT_UPSCALE = 1.5  # largest enlargement of a fragment's own pixels in front scenes


def _front_placements(rng: np.random.Generator, size: tuple[int, int], n: int, balancer: _Balancer,
                      fragments: list[FragmentInfo], blend: BlendChoice) -> list[Placement]:
    W, H = size
    out: list[Placement] = []
    for _ in range(n):
        frag = balancer.pick(rng, fragments)
        balancer.commit(frag)
        side = float(rng.uniform(0.3, 0.55)) * min(W, H) / math.sqrt(n)
        # Never blow a small cutout up into a blurred blob: a pop tab stays pop-tab sized.
        scale = min(side / max(frag.width, frag.height), MAX_FRONT_UPSCALE)
        cx = W * float(np.clip(0.5 + rng.normal(0.0, 0.12), 0.2, 0.8))
        cy = H * float(np.clip(0.5 + rng.normal(0.0, 0.12), 0.2, 0.8))
        out.append(Placement(
            crop_id=frag.crop_id,
            x=round(cx, 3),
            y=round(cy + 0.5 * scale * frag.height, 3),
            scale=round(scale, 6),
            rotation=round(float(rng.uniform(-180.0, 180.0)), 3),
            flip=bool(rng.random() < 0.5),
            blend=_blend(rng, blend),
        ))
    return out


def plan_recipes(catalog: Catalog, settings: RunSettings, count: int) -> Iterator[Recipe]:
    """The recipes of scenes 0..count-1, in order (several per scene with blend `all`). Deterministic."""
    balancer = _Balancer(catalog.fragments)
    pmin, pmax = settings.per_image
    fits: dict[str, list[_Fit]] = {}
    for index in range(count):
        rng = np.random.default_rng([settings.seed, index])
        bg = catalog.backgrounds[int(rng.integers(len(catalog.backgrounds)))]
        window, s = cover_window(bg.meta, settings.size)
        if bg.meta.scene == "road":
            if bg.meta.id not in fits:
                fits[bg.meta.id] = _road_fits(bg, catalog, window, s, settings.size)
            n = int(rng.integers(pmin, pmax + 1))
            placements = _road_placements(rng, bg, window, s, fits[bg.meta.id], n, balancer, settings.blend)
            placements.sort(key=lambda p: p.y)  # far first: nearer fragments cover them
        else:
            n = int(rng.integers(1, max(1, min(3, pmax)) + 1))
            placements = _front_placements(rng, settings.size, n, balancer, catalog.fragments, settings.blend)
        split: Split = "val" if is_val(settings.seed, index, settings.val_fraction) else "train"
        variants = ALL_MODES if settings.blend == "all" else ("",)
        for variant in variants:
            ps = placements
            if variant:
                ps = [p.model_copy(update={"blend": variant}) for p in placements]
            ps = [p.model_copy(update={"color_match": p.blend != "none"}) for p in ps]
            yield Recipe(
                name=f"{index:06d}" + (f"-{variant}" if variant else ""),
                index=index, variant=variant, seed=settings.seed, background_id=bg.meta.id, window=window,
                size=settings.size, placements=ps, occlusion_drop=settings.occlusion_drop,
                jpeg_quality=settings.jpeg_quality, split=split,
            )
