"""Model-free surface estimate of a photo: where the ground is, without weights (the default backend, `auto`).

No weights: colour-texture k-means with position features (as in cleanup), the horizon (when its
estimate is trustworthy), and the static bottom band of dash-cam frames (bonnet / dashboard).

    labels, info = estimate_surfaces(rgb, horizon_row)   # horizon_row: a trusted horizon, or None

Steps (on a copy 320 px on the long side):
 1. bottom band (only with a trustworthy horizon): a full-width, nearly horizontal colour edge in the
    lowest 22 % of the frame with one surface below it -> vehicle (ego bonnet), widened up by 1.5 % of H.
 2. horizon (only a trusted one is given): it splits every region in two (nothing above
    it is the same surface as below), regions reaching more than 10 % above it stand up through it
    (walls, trees, vehicles, people) and cannot be ground, and no ground is kept above it.
 3. k-means (k=8, cv2.kmeans) on Lab + local texture + (x, y) * POS_WEIGHT; connected components of the
    clusters, small ones merged into their nearest large neighbour.
 4. sky: components touching the top, bluish (or, with a horizon, bright and flat), low texture, high in the
    frame; grown into similar flat neighbours.
 5. ground: seed components on the band just above the bottom (or the bonnet) whose colour is ground-like
    (grey, brown, ochre, green, yellow/white paint; not saturated reds/blues/purples; not very dark), grown
    through adjacent components that are ground-like and close in colour-texture to any ground part so
    far, or verge vegetation, or paint. Vetoed: components hanging from the top edge with vertical texture
    that end above the bottom (trunks, poles, walls), vegetation only along the top of a photo without a
    horizon (hedges). Small components enclosed by ground (paint, covers, leaves) join it unless very dark.
 6. the rest: tree (green or highly textured) or building.
Ground surfaces get a type: grass (green / dry-grass yellow with texture), ground (brown), road (grey, on
a road scene with a horizon) or pavement (grey otherwise).

Measured against hand labels (bench/placement.py): mean ground IoU 0.83 on the 21 photos it was tuned on;
it fails on vertical things coloured like ground (a dark parked car joined to the road, lit tree trunks,
grey walls, brick), on flat objects lying on the ground (a cardboard sheet) and on strong shadows. The fix
for any photo it gets wrong is a seg.json from a model (`segment --model`) or the TUI's surfaces view.

Over 400 lines on purpose: one estimator whose steps (features, clusters, ground scoring, horizon) are tuned
together (bench/placement.py).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from garbtui.core.scene.surfaces import GROUND_SURFACES, SURFACE_ID, surface_ids
from garbtui.core.workspace.arrays import as_f32, as_u8

WORK_SIDE = 320
K = 8
POS_WEIGHT = 0.6  # position features, relative to the colour scale (1.0 = crossing the image ~ 100 Lab units)
TEX_WEIGHT = 1.5
HORIZON_MARGIN = 0.01  # fraction of the height below the horizon before ground may start
MIN_COMPONENT = 0.002  # fraction of the image: smaller components are merged
BOTTOM_SEED = 0.12  # height of the seed band above the bottom (or the bonnet)
BAND_MARGIN = 0.015  # the bonnet band is widened upwards by this fraction of the height (safety)
GROW_DIST = 28.0  # colour-texture distance for growing ground into a neighbour
SAMPLE = 8000  # pixels the k-means is fitted on

F32 = NDArray[np.float32]


def _lab_signed(rgb: NDArray[np.uint8]) -> F32:
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] *= 100.0 / 255.0
    lab[..., 1:] -= 128.0
    return lab  # L 0..100, a, b signed


def _texture(lum: F32, k: int = 7) -> F32:
    m = as_f32(cv2.blur(lum, (k, k)))
    m2 = as_f32(cv2.blur(lum * lum, (k, k)))
    return np.sqrt(np.maximum(m2 - m * m, 0.0)).astype(np.float32)


# -- 1. bottom band (bonnet / dashboard) -----------------------------------------------------------
def detect_bottom_band(rgb: NDArray[np.uint8]) -> NDArray[np.float64] | None:
    """Per-column first row of the ego-vehicle band (full-resolution rows), or None.

    One frame only, on a copy 320 px wide. In the lowest 22 % of the frame, a seam (dynamic programming,
    one row of change per column at most, each change costing 2x a typical strong edge) follows the
    strongest colour edge (Lab vertical gradient) across the whole width, so short lane-paint or kerb
    edges cannot win over a full-width edge. Accepted when >= 60 % of the seam is strong (above the 75th
    percentile of edge strength higher up), a robust quadratic agrees with >= 55 % of it, the curve is
    nearly horizontal (spread < 8 % of the height), at most half the columns show a second strong edge
    below it (one surface down to the bottom), and the band differs in colour or texture from just above.
    Call it only with a trusted horizon (a camera looking along a road): a kerb step across a top-down
    photo passes the same tests.
    """
    H, W = rgb.shape[:2]
    w = 320
    h = max(8, round(H * w / W))
    small = as_u8(cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA))
    lab = _lab_signed(small)
    lum = as_f32(cv2.GaussianBlur(lab[..., 0], (5, 5), 0))
    labb = _lab_signed(as_u8(cv2.GaussianBlur(small, (5, 5), 0)))
    gy = np.sqrt(sum(as_f32(cv2.Sobel(labb[..., c], cv2.CV_32F, 0, 1, ksize=3)) ** 2 for c in range(3)))
    y0 = int(h * 0.78)
    band = gy[y0:h - 1]
    if band.shape[0] < 4 or y0 < 2:
        return None
    thr = max(4.0, float(np.percentile(gy[:y0], 75)))
    cost = -band
    nr = band.shape[0]
    acc = cost[:, 0].astype(np.float64)
    back = np.zeros((nr, w), np.int8)
    move = 2.0 * thr  # a row change costs as much as two columns of a typical strong edge
    for x in range(1, w):
        up = np.r_[np.inf, acc[:-1]] + move
        down = np.r_[acc[1:], np.inf] + move
        stacked = np.stack([up, acc, down])
        choice = np.argmin(stacked, axis=0)  # 0: from row-1, 1: same, 2: from row+1
        acc = stacked[choice, np.arange(nr)] + cost[:, x]
        back[:, x] = choice - 1
    r = int(np.argmin(acc))
    path = np.empty(w, np.int64)
    for x in range(w - 1, -1, -1):
        path[x] = r
        r = r + int(back[r, x])
    rows = (path + y0).astype(np.float64)
    strength = band[path, np.arange(w)]
    strong = strength > thr
    xs = np.arange(w, dtype=np.float64)
    if strong.mean() < 0.6:
        return None
    inliers = strong
    fit: NDArray[np.float64] = rows
    for _ in range(3):  # robust quadratic
        coef = np.polyfit(xs[inliers], rows[inliers], 2)
        fit = np.asarray(np.polyval(coef, xs), np.float64)
        inliers = strong & (np.abs(fit - rows) <= 2.5)
        if inliers.sum() < 10:
            return None
    if inliers.mean() < 0.55:
        return None
    if fit.max() - fit.min() > 0.08 * h or fit.min() < 0.78 * h or fit.max() > h - 2:
        return None
    # follow the seam where it agrees with the fit (the bonnet outline is not a parabola), the fit elsewhere
    fit = np.where(inliers, rows, fit)
    fit = np.convolve(np.pad(fit, 4, mode="edge"), np.ones(9) / 9, mode="valid").astype(np.float64)
    second = np.zeros(w, bool)  # one surface below the edge: no second strong edge in most columns
    for x in range(w):
        r2 = int(np.ceil(fit[x])) + 3
        if r2 < h - 1:
            second[x] = gy[r2:h - 1, x].max() > 0.6 * strength[x]
    if second.mean() > 0.5:
        return None
    top = int(np.floor(fit.min()))
    above = lab[max(0, top - 12):max(1, top - 2)].reshape(-1, 3)
    below = np.concatenate([lab[int(np.ceil(f)) + 2:h, x] for x, f in enumerate(fit)])
    if len(below) < 20 or len(above) < 20:
        return None
    tex = _texture(lum)
    tex_below = float(np.median(np.concatenate([tex[int(np.ceil(f)) + 2:h, x] for x, f in enumerate(fit)])))
    tex_above = float(np.median(tex[max(0, top - 12):max(1, top - 2)]))
    colour_gap = float(np.linalg.norm(np.median(below, 0) - np.median(above, 0)))
    if colour_gap < 6.0 and not tex_below < 0.6 * tex_above:
        return None
    out: NDArray[np.float64] = np.clip(np.interp(np.arange(W) * (w / W), xs, fit) * (H / h), 0, H)
    return out


@dataclass(frozen=True)
class _Comp:
    """Colour, texture and geometry of one connected region of the work copy."""

    area: float
    L: float
    a: float
    b: float
    chroma: float
    hue: float
    tex: float
    vert: float  # horizontal / vertical gradient: vertical texture (trunks, poles, walls) > 1
    y_mean: float
    y_min: float
    y_max: float
    top: bool
    bonnet: float
    above_hz: float


# -- main ------------------------------------------------------------------------------------------
def estimate_surfaces(rgb: NDArray[np.uint8], horizon_row: float | None = None,
                      seed: int = 0) -> tuple[NDArray[np.uint8], dict[str, Any]]:
    """The photo's surface map (uint8 surface ids, photo-sized) and what was found (horizon used, bonnet rows).

    `horizon_row` must be a trusted horizon (backgrounds.trusted_horizon) or None. Deterministic for a seed.
    """
    H, W = rgb.shape[:2]
    s = WORK_SIDE / max(H, W)
    w, h = max(16, round(W * s)), max(16, round(H * s))
    small = as_u8(cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA))
    info: dict[str, Any] = {"horizon_used": None if horizon_row is None else float(horizon_row)}
    hz = None if horizon_row is None else float(horizon_row) * s

    # 1. bottom band (ego bonnet / dashboard): only with a trusted horizon
    band_top_full = detect_bottom_band(rgb) if hz is not None else None
    bonnet = np.zeros((h, w), bool)
    bottom_limit = np.full(w, float(h))  # first row of the band per column (work-copy rows)
    if band_top_full is not None:
        band_top_full = np.maximum(band_top_full - BAND_MARGIN * H, 0)
        cols = np.clip((np.arange(w) / s).astype(int), 0, W - 1)
        bottom_limit = band_top_full[cols] * s
        bonnet = np.arange(h)[:, None] >= bottom_limit[None, :]
        info["bottom_band_rows"] = (float(band_top_full.min()), float(band_top_full.max()))

    # 3. features + k-means
    lab = _lab_signed(as_u8(cv2.medianBlur(small, 5)))
    lum = lab[..., 0]
    tex = _texture(as_f32(cv2.GaussianBlur(lum, (3, 3), 0)))
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    side = float(max(h, w))
    feats = np.stack([lum, lab[..., 1] * 1.2, lab[..., 2] * 1.2, tex * TEX_WEIGHT,
                      xs / side * 100 * POS_WEIGHT, ys / side * 100 * POS_WEIGHT], -1).reshape(-1, 6).astype(np.float32)
    idx = np.flatnonzero(~bonnet.ravel())
    rng = np.random.default_rng(seed)
    sample = feats[rng.choice(idx, size=min(len(idx), SAMPLE), replace=False)]
    # cv2.kmeans (k-means++, 3 attempts): sklearn's OpenMP Lloyd took seconds on a busy 2-core machine
    cv2.setRNGSeed(seed)
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 0.1)
    k = min(K, len(sample))
    _, _, centers_m = cv2.kmeans(np.ascontiguousarray(sample), k, None, crit, 3, cv2.KMEANS_PP_CENTERS)  # type: ignore[call-overload]  # bestLabels=None is accepted at run time
    centers = np.asarray(centers_m, np.float32)
    d2 = (feats ** 2).sum(1)[:, None] - 2 * feats @ centers.T + (centers ** 2).sum(1)[None, :]
    clusters = np.argmin(d2, axis=1).reshape(h, w).astype(np.int32)
    clusters[bonnet] = K
    n_labels = K + 1
    if hz is not None:  # the horizon splits regions: what lies above it is never the same surface as below
        above = np.arange(h)[:, None] < (hz - 0.03 * h)
        clusters = np.where(above & (clusters < K), clusters + K + 1, clusters).astype(np.int32)
        n_labels = 2 * K + 2

    comp = np.zeros((h, w), np.int32)
    n = 0
    for c in range(n_labels):
        m = (clusters == c).astype(np.uint8)
        if not m.any():
            continue
        nc, lab_c = cv2.connectedComponents(m, connectivity=4)
        sel = lab_c > 0
        comp[sel] = lab_c[sel] + n
        n += nc - 1
    comp = _merge_small(comp, int(MIN_COMPONENT * h * w))
    ids = [int(i) for i in np.unique(comp)]

    grad_x = np.abs(as_f32(cv2.Sobel(lum, cv2.CV_32F, 1, 0, ksize=3)))
    grad_y = np.abs(as_f32(cv2.Sobel(lum, cv2.CV_32F, 0, 1, ksize=3)))
    stats: dict[int, _Comp] = {}
    for i in ids:
        m = comp == i
        yy, _xx = np.nonzero(m)
        a_, b_ = float(np.median(lab[..., 1][m])), float(np.median(lab[..., 2][m]))
        stats[i] = _Comp(
            area=float(m.mean()), L=float(np.median(lum[m])), a=a_, b=b_, chroma=float(np.hypot(a_, b_)),
            hue=float(np.degrees(np.arctan2(b_, a_)) % 360), tex=float(np.median(tex[m])),
            vert=float(grad_x[m].mean() / (grad_y[m].mean() + 1e-3)),
            y_mean=float(yy.mean() / h), y_min=float(yy.min() / h), y_max=float(yy.max() / h),
            top=bool((yy == 0).any()), bonnet=float(bonnet[m].mean()),
            above_hz=float((yy < hz - 0.03 * h).mean()) if hz is not None else 0.0,
        )

    klass: dict[int, str] = {i: "vehicle" for i, st in stats.items() if st.bonnet > 0.5}
    # 4. sky
    for i, st in stats.items():
        if i in klass:
            continue
        bluish = st.b < -6 and st.L > 45
        # a white or overcast sky only with a trusted horizon: top-down paving is bright and flat too
        bright_flat = hz is not None and st.L > 80 and st.chroma < 12 and st.tex < 3.0
        high = (st.above_hz > 0.8) if hz is not None else (st.y_mean < 0.35)
        if st.top and high and (bluish or bright_flat) and st.tex < 6.0:
            klass[i] = "sky"
    adj = _adjacency(comp)
    queue = deque(i for i, kind in klass.items() if kind == "sky")
    while queue:  # sky split by k-means into bands of brightness: grow into similar, flat neighbours
        i = queue.popleft()
        for j in adj.get(i, ()):
            st = stats[j]
            if j in klass or st.tex >= 6.0 or _dist(stats[i], st) > 20.0:
                continue
            if (hz is not None and st.above_hz < 0.8) or (hz is None and (st.y_mean > 0.35 or st.b > -4)):
                continue
            klass[j] = "sky"
            queue.append(j)
    # 5. ground: seeds on the band just above the bottom (or the bonnet), grown through neighbours
    seed_band = (np.arange(h)[:, None] >= (bottom_limit[None, :] - BOTTOM_SEED * h)) & ~bonnet
    seed_total = max(1.0, float(seed_band.sum()))
    ground: set[int] = set()
    for i, st in stats.items():
        if i in klass or not _ground_like(st, hz):
            continue
        if float((seed_band & (comp == i)).sum()) / seed_total > 0.08:
            ground.add(i)
    queue = deque(sorted(ground))
    while queue:
        i = queue.popleft()
        for j in sorted(adj.get(i, ())):
            if j in ground or j in klass:
                continue
            st = stats[j]
            if not _ground_like(st, hz):
                continue
            close = min(_dist(stats[g], st) for g in ground) < GROW_DIST  # like any ground part seen so far
            # verge vegetation: green, or dry-grass ochre on a road scene (smooth at this scale)
            dry = hz is not None and 55 <= st.hue <= 140 and st.chroma > 10
            veg = (_vegetation(st) or dry) and (hz is not None or st.y_mean > 0.5)
            if close or veg or _paint(st):
                ground.add(j)
                queue.append(j)
    # small components enclosed by ground (lane paint, covers, leaves): ground, unless very dark or large
    vehicles = {j for j, kind in klass.items() if kind == "vehicle"}
    for i, st in stats.items():
        if i in ground or i in klass or st.area > 0.01 or st.L < 20:
            continue
        nb = adj.get(i, set())
        if nb and nb <= ground | vehicles:
            ground.add(i)
    for i in ground:
        klass[i] = _ground_type(stats[i], hz is not None)
    # 6. the rest
    for i, st in stats.items():
        if i not in klass:
            klass[i] = "tree" if (_vegetation(st) or st.tex > 9.0) else "building"
    lut = np.full(int(comp.max()) + 1, SURFACE_ID["other"], np.uint8)
    for i, kind in klass.items():
        lut[i] = SURFACE_ID[kind]
    out = lut[comp]
    if hz is not None:  # nothing above the horizon is ground
        cut = int(np.clip(np.floor(hz + HORIZON_MARGIN * h), 0, h))
        top_rows = out[:cut]
        top_rows[np.isin(top_rows, surface_ids(list(GROUND_SURFACES)))] = SURFACE_ID["other"]
    full = as_u8(cv2.resize(out, (W, H), interpolation=cv2.INTER_NEAREST))
    if band_top_full is not None:  # a crisp bonnet edge at full resolution
        full[np.arange(H)[:, None] >= band_top_full[None, :]] = SURFACE_ID["vehicle"]
    info["components"] = len(ids)
    return np.ascontiguousarray(full), info


def _ground_like(st: _Comp, hz: float | None) -> bool:
    if st.above_hz > 0.1:
        return False  # crosses the horizon: walls, trees, vehicles, people stand up through it
    if st.y_min < 0.05 and st.y_max < 0.9 and st.vert > 1.4:
        return False  # hangs from the top edge, ends above the bottom, vertical texture: trunk, pole, wall
    if hz is None and st.y_min < 0.05 and st.y_max < 0.5 and _vegetation(st):
        return False  # vegetation only along the top of a photo without horizon: hedge, bushes
    if st.L < 12:  # very dark: shadows under cars, tyres, openings
        return False
    if st.chroma < 14:
        return True  # grey: asphalt, concrete, paving
    if 20 <= st.hue <= 140 and st.chroma < 45:  # brown, ochre, dry-grass yellow, olive and green
        return True
    return _paint(st)


def _paint(st: _Comp) -> bool:
    """Yellow or white road paint: bright, yellow hue or neutral, flat."""
    yellow = st.L > 55 and 60 <= st.hue <= 105 and st.chroma > 25
    white = st.L > 75 and st.chroma < 8
    return (yellow or white) and st.tex < 6 and st.area < 0.03


def _vegetation(st: _Comp) -> bool:
    return (st.a < -5 and st.b > -5) or (70 <= st.hue <= 140 and st.chroma > 10 and st.tex > 3)


def _ground_type(st: _Comp, scene_road: bool) -> str:
    if _paint(st) and st.chroma > 25:
        return "road"
    if st.a < -4 and st.b > 0:
        return "grass"
    if 40 <= st.hue <= 110 and st.chroma > 14 and st.tex > 4:
        return "grass"  # dry grass
    if 20 <= st.hue <= 80 and st.chroma >= 14:
        return "ground"
    return "road" if scene_road else "pavement"


def _dist(p: _Comp, q: _Comp) -> float:
    return float(np.sqrt((p.L - q.L) ** 2 + 1.5 * (p.a - q.a) ** 2 + 1.5 * (p.b - q.b) ** 2
                         + (1.5 * (p.tex - q.tex)) ** 2))


def _adjacency(comp: NDArray[np.int32]) -> dict[int, set[int]]:
    adj: dict[int, set[int]] = {}
    for a, b in ((comp[:, :-1], comp[:, 1:]), (comp[:-1, :], comp[1:, :])):
        d = a != b
        pairs = np.unique(np.stack([a[d], b[d]], 1), axis=0)
        for p, q in pairs:
            adj.setdefault(int(p), set()).add(int(q))
            adj.setdefault(int(q), set()).add(int(p))
    return adj


def _merge_small(comp: NDArray[np.int32], min_px: int) -> NDArray[np.int32]:
    """Components under min_px pixels take the label of the nearest pixel of a large one."""
    for _ in range(4):
        ids, counts = np.unique(comp, return_counts=True)
        small = ids[counts < min_px]
        if len(small) == 0:
            break
        big_mask = ~np.isin(comp, small)
        if not big_mask.any():
            break
        _dist_map, lbl = cv2.distanceTransformWithLabels((~big_mask).astype(np.uint8), cv2.DIST_L2, 3,
                                                         labelType=cv2.DIST_LABEL_PIXEL)
        ys, xs = np.nonzero(big_mask)
        lut = np.zeros(int(lbl.max()) + 1, comp.dtype)
        lut[lbl[ys, xs]] = comp[ys, xs]
        comp = np.where(big_mask, comp, lut[lbl]).astype(np.int32)
    return comp


# -- regions for marking by hand (the TUI's surfaces view) -----------------------------------------------
def cluster_regions(rgb: NDArray[np.uint8], k: int = K, seed: int = 0) -> NDArray[np.uint8]:
    """The photo's own colour-texture-position k-means clusters (0..k-1, photo-sized): what a person toggles."""
    H, W = rgb.shape[:2]
    s = WORK_SIDE / max(H, W)
    w, h = max(16, round(W * s)), max(16, round(H * s))
    small = as_u8(cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA))
    lab = _lab_signed(as_u8(cv2.medianBlur(small, 5)))
    tex = _texture(as_f32(cv2.GaussianBlur(lab[..., 0], (3, 3), 0)))
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    side = float(max(h, w))
    feats = np.stack([lab[..., 0], lab[..., 1] * 1.2, lab[..., 2] * 1.2, tex * TEX_WEIGHT,
                      xs / side * 100 * POS_WEIGHT, ys / side * 100 * POS_WEIGHT], -1).reshape(-1, 6).astype(np.float32)
    rng = np.random.default_rng(seed)
    sample = feats[rng.choice(len(feats), size=min(len(feats), SAMPLE), replace=False)]
    cv2.setRNGSeed(seed)
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 0.1)
    _, _, centers_m = cv2.kmeans(np.ascontiguousarray(sample), min(k, len(sample)), None, crit, 3, cv2.KMEANS_PP_CENTERS)  # type: ignore[call-overload]  # bestLabels=None is accepted at run time
    centers = np.asarray(centers_m, np.float32)
    # Numbered top to bottom (by mean row), so "1" is the highest region, as a person reads the photo.
    d2 = (feats ** 2).sum(1)[:, None] - 2 * feats @ centers.T + (centers ** 2).sum(1)[None, :]
    idx = np.argmin(d2, axis=1).reshape(h, w)
    order = np.argsort([float(ys[idx == c].mean()) if (idx == c).any() else 1e9 for c in range(len(centers))])
    rank = np.empty(len(centers), np.uint8)
    rank[order] = np.arange(len(centers), dtype=np.uint8)
    return np.ascontiguousarray(as_u8(cv2.resize(rank[idx], (W, H), interpolation=cv2.INTER_NEAREST)))
