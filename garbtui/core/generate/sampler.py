"""Random but plausible scenes as recipes: recipe i is a pure function of (settings, catalog, i).

Every fragment lies on the ground of its background (surfaces: seg.json + seg.png, else the model-free
estimate): its contact point and the ground band of its footprint (scene/ground.py) on road, pavement,
grass or ground, on the fragment's own `surface` kind where the background has it; never on a vehicle,
person, sky or building, never above a trusted horizon or outside the placement band.
- Size: on road photos with a trusted horizon, perspective (h = k * (y - horizon), k from the
  fragment's source photo or its label's size prior); otherwise the fragment's own source scale
  (perspective.resolve_scale's front rule), jittered 0.8-1.2. Only rows where the object's visible box
  is at least MIN_OBJECT_PX and at most half the output's shorter side are used, so at small output
  sizes objects move nearer instead of vanishing; a class that fits nowhere on a background at this size
  is reported, a background where nothing fits is dropped from the run with a note.
- Spread: a row is drawn uniformly among the fitting ground rows inside the output window (far and near
  alike), the column among that row's ground pixels, three times more often near a surface boundary
  (kerbs, road edges, verges).
- Balance without sequential state: backgrounds are dealt in shuffled rounds (scene i uses the (i mod B)-th
  background of round i // B), and each background has a class mix q_b, solved once per run so that every
  class gets the same expected count over the run although each background holds only the classes that
  fit it; the slots of a background's k-th scene take classes from a low-discrepancy sequence over q_b.
  So planning needs no earlier recipe: a resume plans only the missing indices, and nothing is held per
  recipe. Classes that cannot reach their share are named in the notes, with the reason.
- 0 silent empty images: a scene where nothing could be placed is planned on the next background of its
  round; a scene that still holds nothing is named in the notes.
Front photos get 1 to min(3, MAX) objects, any rotation, all of the footprint on ground; road photos
--per-image MIN-MAX, rotation within 20 degrees, far objects drawn first. A scene stops early when two
slots in a row found no free ground (it is full), so a huge --per-image costs linear time.

Over 400 lines on purpose: the recipe of image i is one pure function; its steps (catalog, background plan,
draws) stay together so its determinism can be read in one place.
"""

from __future__ import annotations

import math
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from garbtui.core.compose.fragment import alpha_extent
from garbtui.core.errors import GarbError, InputError
from garbtui.core.generate.recipe import ALL_MODES, BlendChoice, Recipe, RunSettings, Split
from garbtui.core.generate.surfaces_plan import BackgroundPlan, Fit, analyse_background, background_problem
from garbtui.core.scene.backgrounds import trusted_horizon
from garbtui.core.scene.ground import (
    LOWER_BAND,
    MAX_OBJECT_FRACTION,
    MIN_OBJECT_PX,
    GroundMap,
    footprint,
    lower_edge_rise,
    wanted_surfaces,
)
from garbtui.core.scene.perspective import with_source_k
from garbtui.core.scene.size_priors import SizePriors, load_size_priors
from garbtui.core.scene.trust import is_left_out, left_out_note
from garbtui.core.workspace.imageio import read_rgba
from garbtui.core.workspace.models import BackgroundMeta, BlendMode, CropMeta, Placement
from garbtui.core.workspace.store import Workspace

__all__ = ["MAX_OBJECT_FRACTION", "MIN_OBJECT_PX", "Catalog", "build_catalog", "cover_window", "is_val",
           "plan_recipe", "plan_recipes"]

ATTEMPTS = 40  # contact points tried per object and class
CLASS_TRIES = 3  # classes tried per slot before it is given up
FULL_AFTER = 2  # slots in a row without a place: the scene is full
REDRAWS = 8  # backgrounds tried for a scene that would be empty
ROAD_ROTATION = 20.0
SURFACE_FIRST = 2 / 3  # share of the attempts kept to the fragment's own surface kind
MAX_FRONT_UPSCALE = 1.5  # largest enlargement of a fragment's own pixels on front photos
SAMPLE_BLEND_WEIGHTS: dict[BlendMode, float] = {"none": 0.4, "feather": 0.4, "poisson": 0.2}
SPLIT_STREAM = 0x5B117  # seed streams apart from every scene index
ROUND_STREAM = 0xB6_0D5
CLASS_STREAM = 0xC1A55
COUNT_STREAM = 0xC0047
PHI = (math.sqrt(5.0) - 1.0) / 2.0  # golden-ratio step: the low-discrepancy class sequence
GROUND_CACHE_BYTES = 256 * 2**20  # decoded ground maps kept per run


@dataclass(frozen=True)
class FragmentInfo:
    """A cleaned crop as the sampler needs it: label and visible size, no pixels."""

    crop_id: str
    label: str
    width: int  # visible (alpha) extent of proc.png
    height: int
    meta: CropMeta
    source_camera_height: float | None
    edge_rise: float = LOWER_BAND  # how high its lower edge climbs, fraction of its height (ground.lower_edge_rise)


@dataclass(frozen=True)
class BackgroundInfo:
    """A usable background and the horizon placement may trust (None: placed by surfaces and source scale)."""

    meta: BackgroundMeta
    horizon: float | None


@dataclass
class _RunPlan:
    """One output size of one catalog: the usable backgrounds with their fits, and each one's class mix."""

    plans: list[BackgroundPlan]
    classes: list[str]
    mix: NDArray[np.float64]  # (backgrounds, classes): q_b, rows sum to 1
    notes: list[str]


@dataclass
class Catalog:
    """Everything a run draws from, in a stable order; backgrounds are analysed on first use, once per size."""

    fragments: list[FragmentInfo]
    backgrounds: list[BackgroundInfo]
    priors: SizePriors
    notes: list[str] = field(default_factory=list)
    suspects: list[str] = field(default_factory=list)  # suspect cutouts left out (scene/trust.py)
    ws: Workspace | None = None
    _runs: dict[tuple[tuple[int, int], tuple[int, int]], _RunPlan] = field(default_factory=dict, repr=False)
    _grounds: OrderedDict[tuple[str, tuple[int, int]], GroundMap] = field(default_factory=OrderedDict, repr=False)

    @property
    def categories(self) -> list[str]:
        return sorted({f.label for f in self.fragments})

    def run_plan(self, settings: RunSettings) -> _RunPlan:
        """The backgrounds analysed at the run's output size (first call: every background, once)."""
        key = (settings.size, settings.per_image)
        if key not in self._runs:
            self._runs[key] = _prepare(self, settings.size, settings.per_image)
            for note in self._runs[key].notes:
                if note not in self.notes:
                    self.notes.append(note)
        return self._runs[key]

    def ground(self, plan: BackgroundPlan) -> GroundMap:
        """The plan's ground map, decoded again when the cache (GROUND_CACHE_BYTES) let it go."""
        key = (plan.meta.id, plan.size)
        found = self._grounds.get(key)
        if found is None:
            found = plan.ground_map()
            self.remember(plan, found)
        else:
            self._grounds.move_to_end(key)
        return found

    def remember(self, plan: BackgroundPlan, ground: GroundMap) -> None:
        self._grounds[(plan.meta.id, plan.size)] = ground
        while sum(_nbytes(g) for g in self._grounds.values()) > GROUND_CACHE_BYTES and len(self._grounds) > 1:
            self._grounds.popitem(last=False)


def _nbytes(g: GroundMap) -> int:
    return int(g.labels.nbytes + g.ground.nbytes + g.integral.nbytes + g.weight.nbytes)


def build_catalog(ws: Workspace, background_ids: list[str] | None = None, *, include_suspect: bool = False) -> Catalog:
    """Cleaned fragments and usable backgrounds of the workspace; raises InputError when either is missing.

    Suspect cutouts (CropMeta.quality) are left out, with a note, unless curated or include_suspect. A background
    that cannot be used (a horizon outside the photo, an empty placement band or polygon, a photo unlike its
    meta, a broken seg.json) is skipped with its reason in the notes.
    """
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
            alpha = read_rgba(ws.proc_path(crop_id))[:, :, 3] > 0
            ext = alpha_extent(alpha)
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
        frags.append(FragmentInfo(crop_id, meta.label, ext[2] - ext[0], ext[3] - ext[1], meta, cams[meta.image_id],
                                  lower_edge_rise(alpha)))
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
        try:
            bg_meta = ws.load_background_meta(bg_id)
        except GarbError as exc:
            notes.append(f"background {bg_id} skipped: {exc}")
            continue
        problem = background_problem(ws, bg_meta)
        if problem:
            notes.append(f"background {bg_id} skipped: {problem}")
            continue
        bgs.append(BackgroundInfo(bg_meta, trusted_horizon(bg_meta)))
    if not bgs:
        raise InputError("no usable background (add clean photos with `garbtui background add`)"
                         + (": " + "; ".join(notes) if notes else ""), where=str(ws.root))
    return Catalog(frags, bgs, load_size_priors(ws.root), notes, suspects, ws)


def cover_window(meta: BackgroundMeta, size: tuple[int, int]) -> tuple[tuple[float, float, float, float], float]:
    """The largest window of the output's aspect inside the photo (whole pixels), and output px per photo px.

    Road photos with a trusted horizon keep it near the top third when they must lose rows, so the
    ground band stays.
    """
    W, H = size
    bw, bh = meta.width, meta.height
    s = max(W / bw, H / bh)
    ww, wh = min(bw, round(W / s)), min(bh, round(H / s))
    x0 = (bw - ww) // 2
    horizon = trusted_horizon(meta)
    y0 = int(np.clip(round(horizon - 0.3 * wh), 0, bh - wh)) if horizon is not None else (bh - wh) // 2
    return (float(x0), float(y0), float(x0 + ww), float(y0 + wh)), W / ww


# -- once per run: backgrounds analysed, class mixes solved ----------------------------------------------
def _prepare(catalog: Catalog, size: tuple[int, int], per_image: tuple[int, int]) -> _RunPlan:
    if catalog.ws is None:
        raise GarbError("the catalog was built without a workspace")
    notes: list[str] = []
    plans: list[BackgroundPlan] = []
    for bg in catalog.backgrounds:
        window, s = cover_window(bg.meta, size)
        try:
            plan, ground = analyse_background(catalog.ws, bg.meta, bg.horizon, catalog.fragments, catalog.priors, window, s,
                                      size, per_image)
        except GarbError as exc:
            notes.append(f"background {bg.meta.id} skipped: {exc}")
            continue
        catalog.remember(plan, ground)
        if not plan.fits:
            notes.append(f"background {bg.meta.id} dropped at {size[0]}x{size[1]}: {plan.why_empty}")
            continue
        missing = sorted({f.label for f in catalog.fragments} - {ft.frag.label for ft in plan.fits})
        if missing:
            notes.append(f"background {bg.meta.id} at {size[0]}x{size[1]} cannot hold {', '.join(missing)} "
                         f"({plan.why_missing})")
        plans.append(plan)
    if not plans:
        raise InputError(f"no background can hold any fragment at {size[0]}x{size[1]}: " + "; ".join(notes),
                         field="size")
    classes = sorted({f.label for f in catalog.fragments})
    mix, share = _class_mix(plans, classes)
    nowhere = [c for c, v in zip(classes, share, strict=True) if v == 0]
    if nowhere:
        notes.append(f"at {size[0]}x{size[1]} no background can hold {', '.join(nowhere)}: left out of the run "
                     f"(every ground row would make them under {MIN_OBJECT_PX:g} px, or larger than half the image)")
    top = float(share.max())
    for c, v in zip(classes, share, strict=True):
        if 0 < v < 0.8 * top:
            holders = sum(1 for p in plans if any(f.frag.label == c for f in p.fits))
            notes.append(f"class {c} fits on {holders} of {len(plans)} backgrounds at {size[0]}x{size[1]}: expect "
                         f"about {100 * (1 - v / top):.0f}% fewer than the most placed class")
    return _RunPlan(plans, classes, mix, notes)


def _class_mix(plans: list[BackgroundPlan], classes: list[str]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-background class mixes q_b (rows) making the run's expected class counts as equal as the fits allow.

    Multiplicative updates (iterative proportional fitting towards equal totals): each class's weight on
    every background is divided by its current expected total, then each row normalised.
    """
    index = {c: i for i, c in enumerate(classes)}
    can = np.zeros((len(plans), len(classes)))
    for b, plan in enumerate(plans):
        for fit in plan.fits:
            can[b, index[fit.frag.label]] = 1.0
    mass = np.array([p.mean_objects for p in plans]) / len(plans)
    q = can / can.sum(axis=1, keepdims=True)
    for _ in range(300):
        total = (mass[:, None] * q).sum(axis=0)
        q = np.where(can > 0, q / np.maximum(total, 1e-12)[None, :], 0.0)
        q /= q.sum(axis=1, keepdims=True)
    return q, (mass[:, None] * q).sum(axis=0)


# -- one scene ------------------------------------------------------------------------------------------
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


def _round_order(seed: int, round_no: int, n: int) -> NDArray[np.int64]:
    return np.random.default_rng([seed, ROUND_STREAM, round_no]).permutation(n)


def _scene_count(seed: int, b: int, k: int, lo: int, hi: int) -> tuple[int, int]:
    """Objects in the k-th scene of background b, and its first slot number on b.

    Counts are dealt in shuffled blocks holding each of lo..hi once, so the slots of a background are
    numbered without gaps from the scene's ordinal alone (O(hi - lo) work), and the class sequence over
    them stays low-discrepancy.
    """
    span = hi - lo + 1
    block, r = divmod(k, span)
    counts = np.random.default_rng([seed, COUNT_STREAM, b, block]).permutation(span) + lo
    first = block * (lo + hi) * span // 2 + int(counts[:r].sum())
    return int(counts[r]), first


def _class_for(run: _RunPlan, b: int, seed: int, slot: int, exclude: set[int], rng: np.random.Generator) -> int | None:
    """The class of a background's slot: the low-discrepancy sequence over q_b for the first try, random after."""
    q = run.mix[b].copy()
    if exclude:
        q[list(exclude)] = 0.0
    total = float(q.sum())
    if total <= 0:
        return None
    if not exclude:
        offset = float(np.random.default_rng([seed, CLASS_STREAM, b]).random())
        u = (offset + slot * PHI) % 1.0
    else:
        u = float(rng.random())
    i = int(np.searchsorted(np.cumsum(q) / total, u, side="right"))
    return min(i, len(q) - 1)


def _place(rng: np.random.Generator, plan: BackgroundPlan, ground: GroundMap, fit: Fit, rotation: float,
           occupied: NDArray[np.bool_]) -> tuple[float, float, float] | None:
    """A contact point (x, y) and target height (output pixels) for `fit`, or None after ATTEMPTS tries."""
    want = wanted_surfaces(fit.frag.meta.surface, plan.present)
    rows = plan.rows[fit.lo:fit.hi]
    if len(rows) == 0:
        return None
    W = float(ground.width)
    for attempt in range(ATTEMPTS):
        y = float(rows[int(rng.integers(len(rows)))]) + float(rng.random())
        th = fit.height_at(y, plan.horizon) * (float(rng.uniform(fit.jitter_lo, 1.2)) if fit.k is None else 1.0)
        tw = th * fit.frag.width / fit.frag.height
        fp = footprint(tw, th, rotation, whole=plan.front, rise=fit.frag.edge_rise)
        if fp.longest < MIN_OBJECT_PX:
            continue
        x = ground.pick_x(rng, int(y), fp.width / 2, W - fp.width / 2,
                          want if attempt < SURFACE_FIRST * ATTEMPTS else None)
        if x is None or not ground.fits(x, y, fp):
            continue
        if occupied[min(int(y), occupied.shape[0] - 1), min(int(x), occupied.shape[1] - 1)]:
            continue  # the contact point would lie on an object placed before
        return x, y, th
    return None


def _scene(run: _RunPlan, catalog: Catalog, settings: RunSettings, index: int, b: int,
           rng: np.random.Generator, k: int) -> list[Placement]:
    plan = run.plans[b]
    ground = catalog.ground(plan)
    pmin, pmax = settings.per_image
    lo, hi = (1, max(1, min(3, pmax))) if plan.front else (pmin, pmax)
    n, first_slot = _scene_count(settings.seed, b, k, lo, hi)
    by_class: dict[int, list[Fit]] = {}
    for fit in plan.fits:
        by_class.setdefault(run.classes.index(fit.frag.label), []).append(fit)
    occupied = np.zeros((ground.height, ground.width), bool)
    out: list[Placement] = []
    misses = 0
    for j in range(n):
        tried: set[int] = set()
        placed = False
        for _ in range(CLASS_TRIES):
            c = _class_for(run, b, settings.seed, first_slot + j, tried, rng)
            if c is None:
                break
            fits = by_class[c]
            fit = fits[int(rng.integers(len(fits)))]
            rotation = float(rng.uniform(-180.0, 180.0)) if plan.front else float(rng.uniform(-ROAD_ROTATION, ROAD_ROTATION))
            got = _place(rng, plan, ground, fit, rotation, occupied)
            if got is None:
                tried.add(c)
                continue
            x, y, th = got
            tw = th * fit.frag.width / fit.frag.height
            occupied[max(0, int(y - th)):int(y) + 1, max(0, int(x - tw / 2)):int(x + tw / 2) + 1] = True
            out.append(Placement(
                crop_id=fit.frag.crop_id, x=round(x, 3), y=round(y, 3), scale=round(th / fit.frag.height, 6),
                rotation=round(rotation, 3), flip=bool(rng.random() < 0.5), blend=_blend(rng, settings.blend),
            ))
            placed = True
            break
        misses = 0 if placed else misses + 1
        if misses >= FULL_AFTER:
            break  # two slots in a row found no free ground: the scene is full
    if not plan.front:
        out.sort(key=lambda p: p.y)  # far first: nearer fragments cover them
    return out


def plan_recipe(catalog: Catalog, settings: RunSettings, index: int) -> list[Recipe]:
    """The recipe(s) of scene `index` (three with blend `all`): a pure function of (settings, catalog, index)."""
    run = catalog.run_plan(settings)
    B = len(run.plans)
    round_no, pos = divmod(index, B)
    order = _round_order(settings.seed, round_no, B)
    rng = np.random.default_rng([settings.seed, index])
    placements: list[Placement] = []
    b = int(order[pos])
    for redraw in range(min(REDRAWS, B)):
        b = int(order[(pos + redraw) % B])
        placements = _scene(run, catalog, settings, index, b, rng, round_no if redraw == 0 else round_no + 7919 * redraw)
        if placements:
            break
    plan = run.plans[b]
    if not placements:
        note = f"scene {index:06d}: nothing could be placed on {min(REDRAWS, B)} backgrounds (no free ground)"
        if note not in catalog.notes:
            catalog.notes.append(note)
    split: Split = "val" if is_val(settings.seed, index, settings.val_fraction) else "train"
    variants = ALL_MODES if settings.blend == "all" else ("",)
    out = []
    for variant in variants:
        ps = placements if not variant else [p.model_copy(update={"blend": variant}) for p in placements]
        ps = [p.model_copy(update={"color_match": p.blend != "none"}) for p in ps]
        out.append(Recipe(
            name=f"{index:06d}" + (f"-{variant}" if variant else ""), index=index, variant=variant, seed=settings.seed,
            background_id=plan.meta.id, window=plan.window, size=settings.size, placements=ps,
            occlusion_drop=settings.occlusion_drop, jpeg_quality=settings.jpeg_quality, split=split,
            shadow_direction=plan.meta.shadow_direction, shadow_strength=plan.meta.shadow_strength,
        ))
    return out


def plan_recipes(catalog: Catalog, settings: RunSettings, count: int,
                 indices: Iterable[int] | None = None) -> Iterator[Recipe]:
    """The recipes of scenes 0..count-1 (or of `indices` only: a resume plans just the missing ones), lazily.

    Nothing is kept per recipe. When every scene 0..count-1 was planned, a class mix that missed the 20%
    balance is named in the catalog's notes.
    """
    counts: Counter[str] = Counter()
    labels = {f.crop_id: f.label for f in catalog.fragments}
    for index in (range(count) if indices is None else indices):
        recipes = plan_recipe(catalog, settings, index)
        counts.update(labels[p.crop_id] for p in recipes[0].placements)
        yield from recipes
    if indices is None and count >= 50 and counts:
        run = catalog.run_plan(settings)
        placed = [c for c in run.classes if run.mix[:, run.classes.index(c)].sum() > 0]
        low = [c for c in placed if counts[c] < 0.8 * max(counts.values())]
        if low:
            note = ("classes under 80% of the most placed one over the run: "
                    + ", ".join(f"{c} {counts[c]}" for c in low) + f" (most: {max(counts.values())}); they find less "
                    "free ground that fits them at this size")
            if note not in catalog.notes:
                catalog.notes.append(note)
