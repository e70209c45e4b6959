"""What was tried for box-only cutouts: one line per variant of the automatic cleanup, tune and validation IoU.

The crops and splits are bench/mask_quality.py's (box prior only; the polygon is the ground truth). Each
variant patches one step of garbtui's automatic cleanup for the length of its run (constants of
core/cleanup/refine.py, or CleanupSession's automatic-mask step) and prints mean / median / worst IoU
on the tune and validation splits, and the share of cutouts under IoU 0.6. The README's table of
attempts comes from this script; a variant is kept in garbtui only when the tune split improves.
The superpixel rows need scikit-image (`pip install scikit-image`; not a garbtui dependency).

    GARBTUI_SHARED=../shared python bench/mask_sweeps.py [--only WORD]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import mask_quality as mq  # noqa: E402 - imported after the sys.path lines above

from garbtui.core.cleanup import CleanupSession, auto_recipe, refine  # noqa: E402 - imported after the sys.path lines above
from garbtui.core.cleanup import session as session_module  # noqa: E402 - imported after the sys.path lines above
from garbtui.core.cleanup.auto_select import OBJECT_SHARE  # noqa: E402 - imported after the sys.path lines above

MaskStep = Callable[[CleanupSession, Any, Any], np.ndarray]
SHIPPED = CleanupSession._auto_mask


@contextmanager
def patched(obj: object, **values: Any) -> Iterator[None]:
    """Attributes of `obj` set to `values` for the length of a with-block."""
    old = {name: getattr(obj, name) for name in values}
    for name, value in values.items():
        setattr(obj, name, value)
    try:
        yield
    finally:
        for name, value in old.items():
            setattr(obj, name, value)


def evaluate(crops: list[mq.Crop], label: str, **recipe: Any) -> dict[str, float]:
    """Run the automatic cleanup (box prior) on every crop; print and return the per-split figures."""
    scores: dict[str, list[float]] = {"tune": [], "val": []}
    for c in crops:
        result = CleanupSession(c.rgb, c.box, c.margin).run(auto_recipe(**recipe))
        scores[c.split].append(mq.iou(result.mask, c.gt))
    parts, out = [], {}
    for split, values in scores.items():
        a = np.asarray(values)
        out[split] = float(a.mean())
        parts.append(f"{split} {a.mean():.3f} / {np.median(a):.3f} / {a.min():.2f} (<0.6: {int((a < 0.6).sum()):2d})")
    print(f"{label:58s} " + " | ".join(parts), flush=True)
    return out


def gc_trimap(s: CleanupSession) -> np.ndarray:
    """The shipped GrabCut trimap of a box crop."""
    trimap = refine.trimap_from_priors(s.object_prior, s.sure_bg)
    if s.weak_background:
        trimap[s.background & (trimap != cv2.GC_BGD)] = cv2.GC_PR_BGD
        trimap[s.border_ring] = cv2.GC_BGD
    return trimap


def cluster_mask(s: CleanupSession, info: Any, k: int) -> np.ndarray:
    """The clusters the priors choose, inside the box, cleaned."""
    return refine.clean_mask(s._cluster_mask(info.clustering.labels, info.auto_keep, k) & s.object_prior, s.object_prior)


def background_clusters_out(below: float) -> MaskStep:
    """Pixels of clusters the priors put under `below` object fraction start as probable background."""
    def step(s: CleanupSession, recipe: Any, info: Any) -> np.ndarray:
        trimap = gc_trimap(s)
        trimap[s.object_prior & (info.fraction[info.clustering.labels] < below)] = cv2.GC_PR_BGD
        mask = refine.grabcut(s.rgb, trimap, s.object_prior, seed=recipe.seed, thin=True)
        return mask if mask is not None and mask.any() else SHIPPED(s, recipe, info)
    return step


def middle_object_model(share: float, mode: int) -> MaskStep:
    """The object's colour model fitted on the middle `share` of the box only (mode: GC_EVAL or frozen)."""
    def step(s: CleanupSession, recipe: Any, info: Any) -> np.ndarray:
        h, w = s.shape
        size = refine.work_size((h, w), refine.WORK_SIDE)
        small = cv2.cvtColor(cv2.resize(s.rgb, size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2LAB)
        trimap = cv2.resize(gc_trimap(s), size, interpolation=cv2.INTER_NEAREST)
        bg = (trimap == cv2.GC_BGD) | (trimap == cv2.GC_PR_BGD)
        depth = cv2.distanceTransform((~bg).astype(np.uint8), cv2.DIST_L2, 3)
        middle = ~bg & (depth >= np.percentile(depth[~bg], (1 - share) * 100))
        flat = small.reshape(-1, 3)
        bgd, fgd = refine.gmm_model(flat[bg.ravel()], recipe.seed), refine.gmm_model(flat[middle.ravel()], recipe.seed + 1)
        cv2.grabCut(small, trimap, None, bgd, fgd, 1, mode)  # type: ignore[call-overload]  # the stubs lack rect=None
        fg = (trimap == cv2.GC_FGD) | (trimap == cv2.GC_PR_FGD)
        mask = cv2.resize(refine.clean_mask(fg, ~bg).astype(np.float32), (w, h)) > 0.5
        return mask if mask.any() else SHIPPED(s, recipe, info)
    return step


def local_background(s: CleanupSession, recipe: Any, info: Any) -> np.ndarray:
    """Clusters only, each pixel judged against the background colours near it (a model per side of the box)."""
    labels, k = info.clustering.labels, recipe.k
    h, w = s.shape
    size = refine.work_size((h, w), 64)
    small = cv2.resize(labels.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
    bg = cv2.resize(s.background.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(np.float32)
    sigma = 0.35 * max(size)
    near = cv2.GaussianBlur(bg, (0, 0), sigma) + 1e-6
    n_in = np.bincount(labels[s.object_prior].ravel(), minlength=k).astype(np.float64)
    p_in = n_in / max(n_in.sum(), 1.0)
    prob = np.zeros(small.shape, np.float32)
    for c in range(k):
        share = cv2.GaussianBlur(((small == c) * bg).astype(np.float32), (0, 0), sigma) / near
        prob[small == c] = np.clip(1 - (1 - OBJECT_SHARE) * share / max(p_in[c], 1e-12), 0, 1)[small == c]
    mask = (cv2.resize(prob, (w, h)) > 0.5) & s.object_prior
    mask = refine.clean_mask(mask, s.object_prior)
    return mask if mask.any() else s.object_prior.copy()


def clusters_only(s: CleanupSession, recipe: Any, info: Any) -> np.ndarray:
    """The clusters the priors choose, no refinement."""
    mask = cluster_mask(s, info, recipe.k)
    return mask if mask.any() else s.object_prior.copy()


def after(change: Callable[[CleanupSession, np.ndarray, Any, Any], np.ndarray]) -> MaskStep:
    """The shipped automatic mask, then `change`."""
    def step(s: CleanupSession, recipe: Any, info: Any) -> np.ndarray:
        mask = SHIPPED(s, recipe, info)
        out = change(s, mask, recipe, info)
        return out if out.any() else mask
    return step


def fill_holes(share: float) -> MaskStep:
    return after(lambda s, m, r, i: refine.clean_mask(m, s.object_prior, max_hole=share))


def hull_from_clusters(s: CleanupSession, mask: np.ndarray, recipe: Any, info: Any) -> np.ndarray:
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    hull = np.zeros(mask.shape, np.uint8)
    cv2.fillPoly(hull, [cv2.convexHull(np.concatenate(contours))], 1)
    return mask | (hull.astype(bool) & cluster_mask(s, info, recipe.k))


def superpixel_snap(kind: str, amount: float) -> MaskStep:
    """Each SLIC / Felzenszwalb superpixel (at 128 px) kept when most of it is in the shipped cutout."""
    from skimage.segmentation import felzenszwalb, slic

    def change(s: CleanupSession, mask: np.ndarray, recipe: Any, info: Any) -> np.ndarray:
        h, w = s.shape
        small = cv2.resize(s.rgb, refine.work_size((h, w), 128), interpolation=cv2.INTER_AREA)
        seg = (slic(small, n_segments=int(amount), compactness=10, start_label=0) if kind == "slic"
               else felzenszwalb(small, scale=amount, sigma=0.5, min_size=20))
        seg = cv2.resize(seg.astype(np.float32), (w, h), interpolation=cv2.INTER_NEAREST).astype(np.int32)
        share = np.bincount(seg.ravel(), weights=mask.ravel()) / np.maximum(np.bincount(seg.ravel()), 1)
        return refine.clean_mask((share > 0.5)[seg] & ~s.sure_bg, s.object_prior)
    return after(change)


def guided(radius: float, eps: float) -> MaskStep:
    """A guided filter (He et al.) of the shipped mask with the grey photo as guide, cut at one half."""
    def change(s: CleanupSession, mask: np.ndarray, recipe: Any, info: Any) -> np.ndarray:
        guide = cv2.cvtColor(s.rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
        p = mask.astype(np.float32)
        r = max(1, round(radius * max(s.shape)))
        box = (2 * r + 1, 2 * r + 1)
        mean_i, mean_p = cv2.boxFilter(guide, -1, box), cv2.boxFilter(p, -1, box)
        a = (cv2.boxFilter(guide * p, -1, box) - mean_i * mean_p) / (cv2.boxFilter(guide * guide, -1, box) - mean_i**2 + eps)
        b = mean_p - a * mean_i
        q = cv2.boxFilter(a, -1, box) * guide + cv2.boxFilter(b, -1, box)
        return refine.clean_mask((q > 0.5) & ~s.sure_bg, s.object_prior)
    return after(change)


def without_thin(s: CleanupSession, recipe: Any, info: Any) -> np.ndarray:
    """The shipped step with drop_thin_parts switched off (grabcut's thin flag ignored)."""
    def grabcut(*args: Any, **kwargs: Any) -> Any:
        kwargs["thin"] = False
        return refine.grabcut(*args, **kwargs)

    with patched(session_module, grabcut=grabcut, drop_thin_parts=lambda mask, prior: mask):
        return SHIPPED(s, recipe, info)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="run only the variants whose label contains this word")
    args = parser.parse_args()
    crops = [c for c in mq.load_crops(["shared", "taco_dev"]) if c.gt.any()]
    have_skimage = importlib.util.find_spec("skimage") is not None
    rows: list[tuple[str, dict[str, Any], Callable[[], Any]]] = [
        ("shipped (GrabCut 1 iteration at 128 px, thin strands dropped)", {}, nullcontext),
        ("release before: 2 iterations at 112 px, no strands dropped", {}, _before),
        ("1 iteration at 112 px, no strands dropped", {}, lambda: _no_thin(112, 1)),
        ("1 iteration at 128 px, no strands dropped", {}, lambda: _no_thin(128, 1)),
        ("1 iteration at 160 px", {}, lambda: patched(refine, WORK_SIDE=160)),
        ("1 iteration at 224 px", {}, lambda: patched(refine, WORK_SIDE=224)),
        ("3 iterations", {}, lambda: patched(refine, GRABCUT_ITERS=3)),
        *[(f"k = {k}", {"k": k}, nullcontext) for k in (4, 5, 7, 8, 9)],
        *[(f"position weight {w}", {"position_weight": w}, nullcontext) for w in (0.3, 1.0)],
        *[(f"{space} clusters", {"color_space": space}, nullcontext) for space in ("hsv", "rgb")],
        *[(f"background clusters start as probable background (< {b})", {},
           (lambda b=b: patched(CleanupSession, _auto_mask=background_clusters_out(b)))) for b in (0.05, 0.15, 0.3)],
        ("object model from the middle half of the box", {},
         lambda: patched(CleanupSession, _auto_mask=middle_object_model(0.5, cv2.GC_EVAL))),
        ("... and frozen (no re-learning)", {},
         lambda: patched(CleanupSession, _auto_mask=middle_object_model(0.5, cv2.GC_EVAL_FREEZE_MODEL))),
        ("clusters only (no GrabCut)", {}, lambda: patched(CleanupSession, _auto_mask=clusters_only)),
        ("clusters only, a background model per side of the box", {},
         lambda: patched(CleanupSession, _auto_mask=local_background)),
        *[(f"holes up to {h:.0%} filled", {}, (lambda h=h: patched(CleanupSession, _auto_mask=fill_holes(h))))
          for h in (0.03, 0.1)],
        ("convex hull filled from the clusters", {}, lambda: patched(CleanupSession, _auto_mask=after(hull_from_clusters))),
        *[(f"guided filter r {r:.0%} eps {e}", {}, (lambda r=r, e=e: patched(CleanupSession, _auto_mask=guided(r, e))))
          for r, e in ((0.02, 1e-3), (0.02, 1e-2), (0.04, 1e-3))],
    ]
    if have_skimage:
        rows += [(f"snapped to SLIC superpixels ({n})", {},
                  (lambda n=n: patched(CleanupSession, _auto_mask=superpixel_snap("slic", n)))) for n in (100, 250, 500)]
        rows += [(f"snapped to Felzenszwalb superpixels (scale {n})", {},
                  (lambda n=n: patched(CleanupSession, _auto_mask=superpixel_snap("felzenszwalb", n)))) for n in (50, 150)]
    else:
        print("(superpixel rows skipped: scikit-image is not installed)")
    print(f"{len(crops)} objects, box prior; IoU mean / median / worst against the TACO polygon")
    for label, recipe, context in rows:
        if args.only and args.only not in label:
            continue
        with context():
            evaluate(crops, label, **recipe)
    return 0


@contextmanager
def _before() -> Iterator[None]:
    """The release before this change: GrabCut twice at 112 px, no strands dropped."""
    with patched(refine, WORK_SIDE=112, GRABCUT_ITERS=2), patched(CleanupSession, _auto_mask=without_thin):
        yield


@contextmanager
def _no_thin(side: int, iters: int) -> Iterator[None]:
    with patched(refine, WORK_SIDE=side, GRABCUT_ITERS=iters), patched(CleanupSession, _auto_mask=without_thin):
        yield


if __name__ == "__main__":
    raise SystemExit(main())
