"""Realism bench: a classifier two-sample test of real litter against pasted litter on the same real photos.

Real class: patches around the annotated (COCO polygon) litter of real photos (shared/photos front + road,
annotations.json, and shared/photos/taco_dev). Pasted class: fragments of *other* photos' litter, cut along
their polygons with extract's margin (so the raw crop gives the source surroundings, as in a workspace),
pasted through garbtui's own compose code onto the same photos near the real objects (1.2-4 sizes away,
their patch window overlapping no annotated object and no other paste), sized after a real object of that
photo. Each photo is rendered once per method and JPEG-encoded at q92 (as `generate` writes); both classes
are cut from that one encoded image.

Features (bench/realism_features.py, 40 in 6 groups): colour, boundary, texture/noise, blur, darkness
around/under the object, JPEG blockiness. Pasted patches anchor on the 50 %-alpha outline (what a person
tracing the object would draw). A logistic regression and a random forest are scored by ROC AUC: 0.5 means
nobody can tell real from pasted.

Photos are split once: VAL = sha1(name) mod 3 == 0 (25 photos, listed by --list-photos), TUNE = the rest.
Every tuning decision used TUNE only. Pastes on VAL photos use VAL fragments only. Figures:
- tune: grouped (by photo) stratified 5-fold CV on TUNE patches, repeated;
- val: trained on TUNE patches, scored on VAL patches (photos the tuning never saw): the goal's figure;
- val-cv: grouped CV inside VAL alone (about 110 patches: noisy, +-0.08).
Sanity checks (--sanity): real vs real (real patches relabelled at random, must be ~0.5) and a hard paste
with a 3 px white halo (must be ~1.0).

Methods: `none`, `feather`, `poisson` (garbtui's defaults with that blend), `sample` (generate's default mix:
40 % none, 40 % feather, 20 % poisson, colour match off for none), `halo` (the sanity paste), and
`feather:KEY=VALUE,...` to override compose's Realism settings (see garbtui/core/compose/realism.py).

    GARBTUI_SHARED=/work/shared python bench/realism.py --methods none feather poisson sample --sanity --sheet
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
from realism_features import BACKGROUND_ONLY, FEATURE_GROUPS, FEATURES, patch_features  # noqa: E402 - after sys.path

SHARED = Path(os.environ.get("GARBTUI_SHARED", REPO.parent / "shared")).resolve()
SOURCES = [
    (SHARED / "photos" / "annotations.json", SHARED / "photos", ""),
    (SHARED / "photos" / "taco_dev" / "annotations.json", SHARED / "photos" / "taco_dev" / "images", "taco_dev/"),
]
MIN_SIDE = 20.0  # sqrt(area) of an object used as a patch or a fragment
MAX_FRACTION = 0.45  # largest object side / shorter image side for a real patch
FRAG_MAX_FRACTION = 0.6
JPEG_Q = 92
EXTRACT_MARGIN = 0.15  # extract's default crop margin


# -- data ---------------------------------------------------------------------------------------------
@dataclass
class Obj:
    cat: str
    polys: list[NDArray[np.float64]]
    bbox: tuple[float, float, float, float]  # x0 y0 x1 y1
    area: float

    @property
    def side(self) -> float:
        return math.sqrt(self.area)


@dataclass
class Photo:
    name: str
    path: Path
    W: int
    H: int
    objs: list[Obj]
    split: str
    _rgb: NDArray[np.uint8] | None = field(default=None, repr=False)

    def rgb(self) -> NDArray[np.uint8]:
        if self._rgb is None:
            bgr = cv2.imread(str(self.path), cv2.IMREAD_COLOR)
            self._rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        return self._rgb


def split_of(name: str) -> str:
    return "val" if int(hashlib.sha1(name.encode()).hexdigest(), 16) % 3 == 0 else "tune"


def load_photos() -> list[Photo]:
    photos = []
    for ann, root, prefix in SOURCES:
        d = json.loads(ann.read_text())
        cats = {c["id"]: c["name"] for c in d["categories"]}
        by_img: dict[int, list[Obj]] = {}
        for a in d["annotations"]:
            polys = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in a["segmentation"] if len(p) >= 6]
            if not polys:
                continue
            x, y, w, h = a["bbox"]
            by_img.setdefault(a["image_id"], []).append(Obj(cats[a["category_id"]], polys, (x, y, x + w, y + h),
                                                            float(a["area"])))
        for im in d["images"]:
            name = prefix + im["file_name"]
            photos.append(Photo(name, root / im["file_name"], im["width"], im["height"], by_img.get(im["id"], []),
                                split_of(name)))
    return photos


def poly_mask(polys: list[NDArray[np.float64]], W: int, H: int, offset: tuple[float, float] = (0.0, 0.0)
              ) -> NDArray[np.bool_]:
    """COCO polygons (pixel-corner coordinates) rasterised into a W x H bool mask (1/16 px precision)."""
    m = np.zeros((H, W), dtype=np.uint8)
    pts = [np.round((p - np.asarray(offset) - 0.5) * 16).astype(np.int32) for p in polys]
    cv2.fillPoly(m, pts, 1, lineType=cv2.LINE_8, shift=4)
    return m.astype(bool)


def patch_ok(o: Obj, ph: Photo) -> bool:
    x0, y0, x1, y1 = o.bbox
    return o.side >= MIN_SIDE and max(x1 - x0, y1 - y0) <= MAX_FRACTION * min(ph.W, ph.H)


# -- fragments: polygon cutouts with the extract margin as their raw crop ---------------------------------
@dataclass
class Frag:
    key: str
    cat: str
    photo: str
    raw: NDArray[np.uint8]  # the crop with extract's margin (what raw.png holds)
    mask: NDArray[np.bool_]  # the polygon in crop pixels (what proc.png's alpha holds)
    side: float
    origin: tuple[int, int]  # crop origin in the source photo


def make_fragment(ph: Photo, o: Obj, key: str, grow: float = 0.0) -> Frag | None:
    """The object cut along its polygon (grown by `grow` px: a generous outline, refined by compose's matte)."""
    x0, y0, x1, y1 = o.bbox
    if x0 <= 1 or y0 <= 1 or x1 >= ph.W - 1 or y1 >= ph.H - 1:
        return None  # cut by the photo border: a curated cutout would not be
    if o.side < MIN_SIDE or max(x1 - x0, y1 - y0) > FRAG_MAX_FRACTION * min(ph.W, ph.H):
        return None
    mx, my = EXTRACT_MARGIN * (x1 - x0), EXTRACT_MARGIN * (y1 - y0)
    cx0, cy0 = max(0, int(math.floor(x0 - mx))), max(0, int(math.floor(y0 - my)))
    cx1, cy1 = min(ph.W, int(math.ceil(x1 + mx))), min(ph.H, int(math.ceil(y1 + my)))
    raw = np.ascontiguousarray(ph.rgb()[cy0:cy1, cx0:cx1])
    m = poly_mask(o.polys, cx1 - cx0, cy1 - cy0, (cx0, cy0))
    if m.sum() < 100:
        return None
    others = np.zeros_like(m)
    for q in ph.objs:
        if q is not o:
            others |= poly_mask(q.polys, cx1 - cx0, cy1 - cy0, (cx0, cy0))
    if grow > 0:
        r = int(math.ceil(grow))
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        m = (cv2.dilate(m.astype(np.uint8), k) > 0) & ~others
    return Frag(key, o.cat, ph.name, raw, m, math.sqrt(float(m.sum())), (cx0, cy0))


# -- the paste plan: every method pastes the same fragments at the same spots (paired comparisons) -------
@dataclass
class Plan:
    frag: str
    x: float  # bottom-centre contact point, photo pixels
    y: float
    scale: float
    rotation: float
    flip: bool


def transformed_size(f: Frag, scale: float, rot: float) -> tuple[float, float]:
    ys, xs = np.nonzero(f.mask)
    w, h = (xs.max() - xs.min() + 1) * scale, (ys.max() - ys.min() + 1) * scale
    r = math.radians(rot)
    c, s = abs(math.cos(r)), abs(math.sin(r))
    return w * c + h * s, w * s + h * c


def plan_photo(ph: Photo, frags: list[Frag], rng: np.random.Generator, per_real: int = 2,
               max_rot: float = 30.0) -> list[Plan]:
    """For each real patch object, `per_real` pastes of fragments from other photos of about its native size
    (0.67-1.5x), scaled to it, 1.2-4 sizes away, their patch window overlapping no annotated object or paste."""
    occ = np.zeros((ph.H, ph.W), dtype=np.uint8)
    for o in ph.objs:
        m = poly_mask(o.polys, ph.W, ph.H).astype(np.uint8)
        d = cv2.distanceTransform(1 - m, cv2.DIST_L2, 3)
        occ |= (d <= max(6, 0.6 * o.side)).astype(np.uint8)
    integ = cv2.integral(occ)
    plans: list[Plan] = []
    pool = [f for f in frags if f.photo != ph.name]
    for o in ph.objs:
        if not patch_ok(o, ph):
            continue
        for _ in range(per_real):
            cands = [f for f in pool if 1 / 1.5 <= o.side / f.side <= 1.5]
            if len(cands) < 3:
                cands = sorted(pool, key=lambda f: abs(math.log(o.side / f.side)))[:3]
            f = cands[int(rng.integers(len(cands)))]
            scale = o.side / f.side * float(np.exp(rng.uniform(-0.1, 0.1)))
            rot = float(rng.uniform(-max_rot, max_rot))
            flip = bool(rng.random() < 0.5)
            bw, bh = transformed_size(f, scale, rot)
            pad = max(6.0, 0.6 * f.side * scale)
            ocx, ocy = 0.5 * (o.bbox[0] + o.bbox[2]), 0.5 * (o.bbox[1] + o.bbox[3])
            for attempt in range(80):
                if attempt < 60:
                    ang = rng.uniform(0, 2 * math.pi)
                    d = rng.uniform(1.2, 4.0) * 0.5 * (max(bw, bh) + max(o.bbox[2] - o.bbox[0], o.bbox[3] - o.bbox[1]))
                    cx, cy = ocx + d * math.cos(ang), ocy + d * math.sin(ang)
                else:
                    cx, cy = rng.uniform(0, ph.W), rng.uniform(0, ph.H)
                wx0, wy0 = int(cx - bw / 2 - pad), int(cy - bh / 2 - pad)
                wx1, wy1 = int(math.ceil(cx + bw / 2 + pad)), int(math.ceil(cy + bh / 2 + pad))
                if wx0 < 0 or wy0 < 0 or wx1 > ph.W or wy1 > ph.H:
                    continue
                if integ[wy1, wx1] - integ[wy0, wx1] - integ[wy1, wx0] + integ[wy0, wx0] > 0:
                    continue
                occ[wy0:wy1, wx0:wx1] = 1
                integ = cv2.integral(occ)
                plans.append(Plan(f.key, cx, cy + bh / 2, scale, rot, flip))
                break
    return plans


# -- paste methods: fn(canvas, frag, plan, photo) -> (x0, y0, label mask, 50 % outline) or None ----------
Pasted = tuple[int, int, NDArray[np.bool_], NDArray[np.bool_]]
PasteFn = Callable[[NDArray[np.uint8], Frag, Plan, Photo], Pasted | None]


def _fragment(frag: Frag, ph: Photo, realism: Any) -> Any:
    """garbtui's Fragment of a bench fragment, as load_fragment makes it from raw.png, proc.png and the photo."""
    from garbtui.core.compose.fragment import fragment_from_rgba
    from garbtui.core.compose.look import source_illuminant
    from garbtui.core.workspace.models import BBox, CropMeta, Region

    h, w = frag.mask.shape
    meta = CropMeta(id=f"f{frag.key}", image_id="bench", source_path=frag.photo, label=frag.cat,
                    origin_x=frag.origin[0], origin_y=frag.origin[1], crop_width=w, crop_height=h,
                    image_width=ph.W, image_height=ph.H,
                    region=Region(kind="polygon", bbox=BBox(x0=0, y0=0, x1=w, y1=h)), margin=EXTRACT_MARGIN)
    rgba = np.dstack([frag.raw, np.where(frag.mask, 255, 0).astype(np.uint8)])
    return fragment_from_rgba(meta.id, meta, rgba, frag.raw, illuminant=source_illuminant(ph.path), realism=realism)


def bilinear_transform(rgba: NDArray[np.uint8], scale: float, rotation: float, flip: bool) -> Any:
    """The transform before bicubic interpolation (bilinear enlarging and rotation), for the step-by-step table."""
    from garbtui.core.compose.fragment import Transformed, premultiply

    pm = premultiply(rgba, flip)
    h, w = pm.shape[:2]
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    if (nw, nh) != (w, h):
        pm = cv2.resize(pm, (nw, nh), interpolation=cv2.INTER_AREA if nw < w or nh < h else cv2.INTER_LINEAR)
    if rotation % 360.0:
        rad = math.radians(rotation % 360.0)
        c, s = abs(math.cos(rad)), abs(math.sin(rad))
        bw, bh = int(math.ceil(nw * c + nh * s)) + 2, int(math.ceil(nw * s + nh * c)) + 2
        m = cv2.getRotationMatrix2D(((nw - 1) / 2.0, (nh - 1) / 2.0), rotation % 360.0, 1.0)
        m[0, 2] += (bw - 1) / 2.0 - (nw - 1) / 2.0
        m[1, 2] += (bh - 1) / 2.0 - (nh - 1) / 2.0
        pm = cv2.warpAffine(pm, m, (bw, bh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    alpha = np.clip(pm[:, :, 3], 0.0, 255.0)
    rgb = np.clip(pm[:, :, :3] / (np.maximum(alpha, 1e-3)[:, :, None] / 255.0), 0.0, 255.0)
    rgb[alpha <= 0] = 0.0
    return Transformed(rgb.astype(np.float32), alpha.astype(np.float32), float(scale))


BENCH_KEYS = ("color_match", "shadow", "bilinear")  # method settings that are not compose Realism settings


def garbtui_paste(blend: str, overrides: dict[str, float] | None = None) -> PasteFn:
    """A paste through garbtui's compose code (transform_fragment, composite_placement with the photo's look).

    overrides: compose Realism settings, plus color_match (default: on unless blend none, as generate does),
    shadow (default auto) and bilinear (1: the old bilinear transform)."""
    from garbtui.core.compose.fragment import transform_fragment
    from garbtui.core.compose.look import look_of
    from garbtui.core.compose.realism import REALISTIC
    from garbtui.core.compose.render import PlacementInfo, composite_placement
    from garbtui.core.workspace.models import Placement

    ov = dict(overrides or {})
    color_match = bool(ov.pop("color_match", blend != "none"))
    shadow: bool | str = "auto" if ov.pop("shadow", 1.0) else False
    bilinear = bool(ov.pop("bilinear", 0.0))
    realism = REALISTIC.updated(**ov)
    frags: dict[str, Any] = {}
    looks: dict[str, Any] = {}

    def fn(canvas: NDArray[np.uint8], frag: Frag, pl: Plan, ph: Photo) -> Pasted | None:
        if frag.key not in frags:
            frags[frag.key] = _fragment(frag, BENCH.photo_by_name[frag.photo], realism)
        f = frags[frag.key]
        if ph.name not in looks:
            looks.clear()  # one photo at a time
            looks[ph.name] = look_of(ph.rgb(), photo=ph.path, realism=realism)
        transform = bilinear_transform if bilinear else transform_fragment
        t = transform(f.rgba, pl.scale, pl.rotation, pl.flip)
        p = Placement(crop_id=f.crop_id, x=pl.x, y=pl.y, scale=pl.scale, rotation=pl.rotation, flip=pl.flip,
                      blend=blend, color_match=color_match, shadow=shadow)
        info = PlacementInfo(0, f.crop_id, frag.cat)
        layer = composite_placement(canvas, [], t, p, pl.x, pl.y, f.source, info, look=looks[ph.name], realism=realism)
        if layer is None:
            return None
        half = layer.mask & (layer.alpha >= 128) if layer.alpha is not None else layer.mask
        return layer.x0, layer.y0, layer.mask.copy(), half
    return fn


def sample_paste() -> PasteFn:
    """generate's default blend (`sample`): none 40 %, feather 40 %, poisson 20 %; colour match unless none."""
    fns = {"none": garbtui_paste("none"), "feather": garbtui_paste("feather"), "poisson": garbtui_paste("poisson")}

    def fn(canvas: NDArray[np.uint8], frag: Frag, pl: Plan, ph: Photo) -> Pasted | None:
        u = (int(frag.key) * 2654435761 + int(pl.x * 31) + int(pl.y * 17)) % 1000 / 1000.0
        mode = "none" if u < 0.4 else "feather" if u < 0.8 else "poisson"
        return fns[mode](canvas, frag, pl, ph)
    return fn


def halo_paste(width: int = 3) -> PasteFn:
    """Sanity check: a hard paste with a white halo `width` px wide around the object (must score ~1.0)."""
    from garbtui.core.compose.fragment import transform_fragment

    def fn(canvas: NDArray[np.uint8], frag: Frag, pl: Plan, ph: Photo) -> Pasted | None:
        ys, xs = np.nonzero(frag.mask)
        rgba = np.dstack([frag.raw, np.where(frag.mask, 255, 0).astype(np.uint8)])[
            ys.min():ys.max() + 1, xs.min():xs.max() + 1]
        t = transform_fragment(np.ascontiguousarray(rgba), pl.scale, pl.rotation, pl.flip)
        pad = width + 1
        a = np.pad(t.alpha >= 127.5, pad)
        rgb = np.pad(t.rgb, ((pad, pad), (pad, pad), (0, 0)))
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
        big = cv2.dilate(a.astype(np.uint8), k) > 0
        h, w = a.shape
        ox, oy = int(round(pl.x - w / 2)), int(round(pl.y)) - h + pad
        H, W = canvas.shape[:2]
        x0, y0, x1, y1 = max(0, ox), max(0, oy), min(W, ox + w), min(H, oy + h)
        if x1 <= x0 or y1 <= y0:
            return None
        sl = (slice(y0 - oy, y1 - oy), slice(x0 - ox, x1 - ox))
        roi = canvas[y0:y1, x0:x1]
        roi[big[sl]] = 255
        roi[a[sl]] = np.clip(rgb[sl][a[sl]], 0, 255).astype(np.uint8)
        return x0, y0, big[sl].copy(), big[sl].copy()
    return fn


def method(name: str) -> PasteFn:
    """A paste method by name: none | feather | poisson | sample | halo, or BLEND:key=value,... overrides."""
    if name == "sample":
        return sample_paste()
    if name == "halo":
        return halo_paste(3)
    blend, _, spec = name.partition(":")
    if blend not in ("none", "feather", "poisson"):
        raise SystemExit(f"unknown method {name!r}")
    overrides: dict[str, float] = {}
    for item in filter(None, spec.split(",")):
        key, _, value = item.partition("=")
        overrides[key] = float(value)
    return garbtui_paste(blend, overrides or None)


# -- the sample -----------------------------------------------------------------------------------------
@dataclass
class Patch:
    photo: str
    split: str
    kind: str  # "real" or "syn"
    feats: dict[str, float]
    box: tuple[int, int, int, int]  # window for the contact sheet
    cat: str


def window_box(x0: int, y0: int, mask: NDArray[np.bool_], W: int, H: int) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    bx0, by0, bx1, by1 = x0 + xs.min(), y0 + ys.min(), x0 + xs.max() + 1, y0 + ys.max() + 1
    half = 0.5 * max(bx1 - bx0, by1 - by0) * 1.6
    cx, cy = (bx0 + bx1) / 2, (by0 + by1) / 2
    return int(max(0, cx - half)), int(max(0, cy - half)), int(min(W, cx + half)), int(min(H, cy + half))


BENCH: Bench  # the bench being run (paste methods read source photos from it)


class Bench:
    """The photos, fragments, the paste plan (seeded, the same for every method) and the real objects' masks."""

    def __init__(self, seed: int = 0, per_real: int = 2, max_rot: float = 30.0, grow: float = 0.0) -> None:
        self.photos = load_photos()
        self.photo_by_name = {p.name: p for p in self.photos}
        self.frags: dict[str, list[Frag]] = {"tune": [], "val": []}
        n = 0
        for ph in self.photos:
            for o in ph.objs:
                f = make_fragment(ph, o, f"{n:04d}", grow)
                n += 1
                if f is not None:
                    self.frags[ph.split].append(f)
        self.frag_by_key = {f.key: f for fs in self.frags.values() for f in fs}
        rng = np.random.default_rng(seed)
        self.plans = {ph.name: plan_photo(ph, self.frags[ph.split], rng, per_real, max_rot) for ph in self.photos}
        self.real_masks: dict[str, list[tuple[int, int, int, NDArray[np.bool_]]]] = {}
        for ph in self.photos:
            lst = []
            for i, o in enumerate(ph.objs):
                if patch_ok(o, ph):
                    x0, y0 = int(math.floor(o.bbox[0])), int(math.floor(o.bbox[1]))
                    x1, y1 = min(ph.W, int(math.ceil(o.bbox[2])) + 1), min(ph.H, int(math.ceil(o.bbox[3])) + 1)
                    lst.append((i, x0, y0, poly_mask(o.polys, x1 - x0, y1 - y0, (x0, y0))))
            self.real_masks[ph.name] = lst
        self.renders: dict[tuple[str, str], NDArray[np.uint8]] = {}

    def render(self, fn: PasteFn, ph: Photo) -> tuple[NDArray[np.uint8], list[tuple[int, int, NDArray[np.bool_], Frag]]]:
        """The photo with this method's pastes after a JPEG q92 round trip, and the pastes (x0, y0, outline, frag)."""
        canvas = ph.rgb().copy()
        pasted = []
        for pl in self.plans[ph.name]:
            frag = self.frag_by_key[pl.frag]
            r = fn(canvas, frag, pl, ph)
            if r is not None and r[2].sum() >= 100:
                m = r[3] if r[3].sum() >= 100 else r[2]  # features on the 50 % outline
                pasted.append((r[0], r[1], m, frag))
        ok, buf = cv2.imencode(".jpg", canvas[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, JPEG_Q])
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1]
        return np.ascontiguousarray(out), pasted

    def patches(self, name: str, fn: PasteFn, keep_images: bool = False, splits: tuple[str, ...] = ("tune", "val")
                ) -> list[Patch]:
        out = []
        for ph in self.photos:
            if ph.split not in splits or (not self.plans[ph.name] and not self.real_masks[ph.name]):
                continue
            img, pasted = self.render(fn, ph)
            if keep_images:
                self.renders[(name, ph.name)] = img
            for i, x0, y0, m in self.real_masks[ph.name]:
                f = patch_features(img, x0, y0, m)
                if f is not None:
                    out.append(Patch(ph.name, ph.split, "real", f, window_box(x0, y0, m, ph.W, ph.H), ph.objs[i].cat))
            for x0, y0, m, frag in pasted:
                f = patch_features(img, x0, y0, m)
                if f is not None:
                    out.append(Patch(ph.name, ph.split, "syn", f, window_box(x0, y0, m, ph.W, ph.H), frag.cat))
        return out


# -- the classifier two-sample test ----------------------------------------------------------------------
def _model(name: str, seed: int) -> Any:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "lr":
        return make_pipeline(StandardScaler(), LogisticRegression(C=0.3, max_iter=3000, class_weight="balanced"))
    return RandomForestClassifier(n_estimators=200, min_samples_leaf=2, max_features="sqrt", class_weight="balanced",
                                  random_state=seed, n_jobs=1)


def matrix(patches: list[Patch], names: list[str]) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[Any]]:
    X = np.array([[p.feats[n] for n in names] for p in patches], dtype=np.float64)
    y = np.array([1 if p.kind == "syn" else 0 for p in patches])
    g = np.array([p.photo for p in patches])
    return X, y, g


def cv_auc(patches: list[Patch], names: list[str] | None = None, repeats: int = 2, folds: int = 5,
           models: tuple[str, ...] = ("lr", "rf")) -> dict[str, tuple[float, float]]:
    """Stratified k-fold grouped by photo, repeated: AUC of the pooled out-of-fold scores, {model: (mean, sd)}."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold

    X, y, g = matrix(patches, names or FEATURES)
    res = {}
    for name in models:
        aucs = []
        for rep in range(repeats):
            oof = np.zeros(len(y))
            for tr, te in StratifiedGroupKFold(folds, shuffle=True, random_state=rep).split(X, y, g):
                clf = _model(name, rep).fit(X[tr], y[tr])
                oof[te] = clf.predict_proba(X[te])[:, 1]
            aucs.append(roc_auc_score(y, oof))
        res[name] = (float(np.mean(aucs)), float(np.std(aucs)))
    return res


def transfer_auc(train: list[Patch], test: list[Patch], names: list[str] | None = None, repeats: int = 2,
                 models: tuple[str, ...] = ("lr", "rf")) -> dict[str, tuple[float, float]]:
    """Trained on one photo set, AUC on another (photos neither the classifier nor the tuning saw)."""
    from sklearn.metrics import roc_auc_score

    Xa, ya, _ = matrix(train, names or FEATURES)
    Xb, yb, _ = matrix(test, names or FEATURES)
    res = {}
    for name in models:
        aucs = [roc_auc_score(yb, _model(name, rep).fit(Xa, ya).predict_proba(Xb)[:, 1])
                for rep in range(repeats if name == "rf" else 1)]
        res[name] = (float(np.mean(aucs)), float(np.std(aucs)))
    return res


def evaluate(patches: list[Patch], groups: bool = False, repeats: int = 2) -> dict[str, Any]:
    tune = [p for p in patches if p.split == "tune"]
    val = [p for p in patches if p.split == "val"]
    out: dict[str, Any] = {
        "n": {s: (sum(p.kind == "real" for p in ps), sum(p.kind == "syn" for p in ps))
              for s, ps in (("tune", tune), ("val", val))},
        "tune_cv": cv_auc(tune, repeats=repeats),
        "val_transfer": transfer_auc(tune, val, repeats=repeats),
        "val_cv": cv_auc(val, repeats=repeats),
        "tune_background_only": cv_auc(tune, BACKGROUND_ONLY, repeats=repeats, models=("rf",)),
    }
    if groups:
        out["groups_tune_cv"] = {g: cv_auc(tune, names, repeats=repeats) for g, names in FEATURE_GROUPS.items()}
        out["groups_val"] = {g: transfer_auc(tune, val, names, repeats=repeats) for g, names in FEATURE_GROUPS.items()}
    return out


def headline(res: dict[str, Any]) -> tuple[float, float]:
    """(tune AUC, val AUC): the stronger classifier of the two, CV on TUNE and trained-on-TUNE scored on VAL."""
    return max(v[0] for v in res["tune_cv"].values()), max(v[0] for v in res["val_transfer"].values())


def real_vs_real(patches: list[Patch], seed: int = 0) -> list[Patch]:
    """Sanity check: the real patches alone, half of them relabelled 'syn' at random."""
    rng = np.random.default_rng(seed)
    return [Patch(p.photo, p.split, "syn" if rng.random() < 0.5 else "real", p.feats, p.box, p.cat)
            for p in patches if p.kind == "real"]


def telling_features(patches: list[Patch], top: int = 8) -> str:
    """The features that tell pastes from real litter best on TUNE (univariate AUC, medians real / pasted)."""
    from sklearn.metrics import roc_auc_score

    tune = [p for p in patches if p.split == "tune"]
    X, y, _ = matrix(tune, FEATURES)
    rows = []
    for i, name in enumerate(FEATURES):
        a = roc_auc_score(y, X[:, i])
        rows.append((max(a, 1 - a), name, float(np.median(X[y == 0, i])), float(np.median(X[y == 1, i]))))
    rows.sort(reverse=True)
    return "; ".join(f"{n} {a:.2f} ({r:.2f}/{s:.2f})" for a, n, r, s in rows[:top])


def contact_sheet(bench: Bench, name: str, patches: list[Patch], path: Path, n: int = 24, tile: int = 96,
                  seed: int = 1) -> None:
    """Top: n real litter patches; bottom: n pasted ones, from the same renders."""
    rng = np.random.default_rng(seed)
    rows = []
    for kind in ("real", "syn"):
        ps = [p for p in patches if p.kind == kind]
        sel = [ps[i] for i in rng.choice(len(ps), size=min(n, len(ps)), replace=False)]
        tiles = []
        for p in sel:
            x0, y0, x1, y1 = p.box
            tiles.append(cv2.resize(bench.renders[(name, p.photo)][y0:y1, x0:x1], (tile, tile),
                                    interpolation=cv2.INTER_AREA))
        while len(tiles) % 12:
            tiles.append(np.zeros((tile, tile, 3), np.uint8))
        for i in range(0, len(tiles), 12):
            rows.append(np.hstack([np.pad(t, ((2, 2), (2, 2), (0, 0))) for t in tiles[i:i + 12]]))
        rows.append(np.full((12, rows[-1].shape[1], 3), 255 if kind == "real" else 0, np.uint8))
    sheet = np.vstack(rows[:-1])
    label = np.zeros((28, sheet.shape[1], 3), np.uint8)
    cv2.putText(label, f"{name}: top {n} REAL litter patches, bottom {n} PASTED (same photos)", (6, 20),
                cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    cv2.imwrite(str(path), np.vstack([label, sheet])[:, :, ::-1])


def fmt(res: dict[str, Any]) -> str:
    t, v = headline(res)
    lr, rf = res["tune_cv"]["lr"], res["tune_cv"]["rf"]
    vl, vr = res["val_transfer"]["lr"], res["val_transfer"]["rf"]
    cl, cr = res["val_cv"]["lr"], res["val_cv"]["rf"]
    bg = res["tune_background_only"]["rf"][0]
    return (f"tune {t:.3f} (lr {lr[0]:.3f} rf {rf[0]:.3f}±{rf[1]:.3f}) | val {v:.3f} (lr {vl[0]:.3f} rf {vr[0]:.3f}) "
            f"| val-cv lr {cl[0]:.3f} rf {cr[0]:.3f} | background-only rf {bg:.3f} | n {res['n']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--methods", nargs="+", default=["none", "feather", "poisson", "sample"])
    ap.add_argument("--groups", action="store_true", help="also the AUC per feature group")
    ap.add_argument("--sanity", action="store_true", help="real vs real, and the white-halo paste")
    ap.add_argument("--sheet", action="store_true", help="contact sheets to OUT/sheet_<method>.png")
    ap.add_argument("--telling", action="store_true", help="the features that tell pastes apart best (TUNE)")
    ap.add_argument("--tune-only", action="store_true", help="render and score the TUNE photos only (quick)")
    ap.add_argument("--grow", type=float, default=0.0, help="cut fragments this many px outside their polygon")
    ap.add_argument("--out", type=Path, default=Path("bench-out/realism"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--list-photos", action="store_true", help="print the held-out (VAL) photos and exit")
    args = ap.parse_args()
    global BENCH
    t0 = time.perf_counter()
    bench = BENCH = Bench(seed=args.seed, grow=args.grow)
    val = [p.name for p in bench.photos if p.split == "val"]
    if args.list_photos:
        print("\n".join(val))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"photos {len(bench.photos)} (VAL, held out from tuning: {len(val)}); fragments tune "
          f"{len(bench.frags['tune'])} val {len(bench.frags['val'])}; pastes {sum(len(v) for v in bench.plans.values())}; "
          f"grow {args.grow:g} px; load average {os.getloadavg()[0]:.1f}; setup {time.perf_counter() - t0:.0f}s",
          flush=True)
    results: dict[str, Any] = {}
    names = list(args.methods) + (["halo"] if args.sanity and "halo" not in args.methods else [])
    splits = ("tune",) if args.tune_only else ("tune", "val")
    for name in names:
        t0 = time.perf_counter()
        patches = bench.patches(name, method(name), keep_images=args.sheet, splits=splits)
        if args.tune_only:
            res = {"tune_cv": cv_auc(patches, repeats=args.repeats, models=("rf",))}
            print(f"{name:>24}: tune rf {res['tune_cv']['rf'][0]:.3f}  [{time.perf_counter() - t0:.0f}s]", flush=True)
        else:
            res = evaluate(patches, groups=args.groups, repeats=args.repeats)
            print(f"{name:>24}: {fmt(res)}  [{time.perf_counter() - t0:.0f}s]", flush=True)
        results[name] = res
        if args.groups and not args.tune_only:
            for g in FEATURE_GROUPS:
                a, b = res["groups_tune_cv"][g], res["groups_val"][g]
                print(f"{'':>26}{g:>9}: tune lr {a['lr'][0]:.3f} rf {a['rf'][0]:.3f} | val lr {b['lr'][0]:.3f} "
                      f"rf {b['rf'][0]:.3f}")
        if args.telling:
            print(f"{'':>26}telling: {telling_features(patches)}", flush=True)
        if args.sanity and name == names[0] and not args.tune_only:
            rr = evaluate(real_vs_real(patches), repeats=args.repeats)
            results["real-vs-real"] = rr
            print(f"{'real-vs-real':>24}: {fmt(rr)}", flush=True)
        if args.sheet:
            contact_sheet(bench, name, patches, args.out / f"sheet_{name.replace(':', '_').replace(',', '_')}.png")
            bench.renders.clear()
    (args.out / f"results_{'_'.join(names)[:80].replace(':', '_')}.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
