"""Mask quality of the automatic cutout against TACO ground-truth polygons: box-only and with outlines.

Sets (crops made with garbtui's own extraction, 15% margin; ground truth = the COCO polygon):
  shared    ../shared/photos/annotations.json, 28 objects (TUNE: the thresholds were tuned on them)
  taco_dev  ../shared/photos/taco_dev/annotations.json, 196 objects on 60 photos. VALIDATION split: the
            photos with COCO image ids in TACO_DEV_VAL_IMAGE_IDS (every third sorted id from the third:
            20 photos, 37 objects), never used for tuning; the other 40 photos (159 objects) are TUNE.
  bg        boxes drawn on litter-free ground in ../shared/photos/clean (the right cutout is empty, so
            every cutout there is bad): BACKGROUND_BOXES = VALIDATION, BACKGROUND_TUNE_BOXES = TUNE.
Modes: box (the prior is the polygon's bounding box; the polygon is never an input) and outline (the
prior is the polygon itself, as a polygon-annotated export gives it).
Per mode and split: mean / median / worst IoU of the automatic cutout, the oracle toggle ceiling (best
IoU the screen's cluster keys reach from the automatic cutout at the default k; also the best set of
whole raw clusters inside the box / outline), and how well "suspect"
(CropMeta.quality) finds the bad cutouts (IoU < 0.6): precision and recall. Baselines in the same run:
GrabCut from the box (full resolution, 5 iterations) with --baselines. Writes
bench/out/mask_quality_worst_<mode>.png (the worst validation cutouts).

    nice python bench/mask_quality.py [--mode box|outline|both] [--sets shared,taco_dev,bg] [--k 6]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import pickle
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from garbtui.core.cleanup import CleanupSession, auto_recipe  # noqa: E402 - imported after the sys.path line above
from garbtui.core.extract.crops import ExtractOptions, extract, load_export  # noqa: E402 - imported after the sys.path line above
from garbtui.core.extract.paths import PathResolver  # noqa: E402 - imported after the sys.path line above
from garbtui.core.workspace.atomic import atomic_write_png  # noqa: E402 - imported after the sys.path line above
from garbtui.core.workspace.imageio import read_rgb  # noqa: E402 - imported after the sys.path line above
from garbtui.core.workspace.models import Region  # noqa: E402 - imported after the sys.path line above
from garbtui.core.workspace.regions import margin_mask, region_mask  # noqa: E402 - imported after the sys.path line above
from garbtui.core.workspace.store import Workspace  # noqa: E402 - imported after the sys.path line above

SHARED = Path(os.environ.get("GARBTUI_SHARED", REPO.parent / "shared")).resolve()
PHOTOS = SHARED / "photos"
OUT = REPO / "bench" / "out"
TACO_DEV_VAL_IMAGE_IDS = frozenset((10, 22, 31, 40, 49, 61, 70, 79, 91, 688, 697, 706, 715, 724, 733, 742, 751, 760,
                                    769, 778))
# (file in shared/photos/clean, x, y, w, h): boxes on plain ground with no litter (checked by eye).
BACKGROUND_BOXES = [
    ("taco_b2_000018_crop.jpg", 500, 300, 220, 200), ("taco_b2_000018_crop.jpg", 900, 150, 160, 240),
    ("taco_b2_000018_crop.jpg", 150, 900, 200, 140), ("taco_b2_000044_crop_paving.jpg", 400, 300, 250, 250),
    ("taco_b2_000019_crop.jpg", 600, 250, 200, 180), ("taco_b3_IMG_4972_crop.jpg", 300, 500, 220, 260),
    ("taco_b2_000044_crop_path.jpg", 700, 380, 180, 160), ("udacity_adv_test5.jpg", 560, 560, 200, 120),
]
BACKGROUND_TUNE_BOXES = [
    ("skimage_grass.png", 50, 50, 150, 150), ("skimage_grass.png", 300, 280, 120, 160),
    ("skimage_gravel.png", 60, 300, 160, 120), ("skimage_gravel.png", 300, 60, 140, 140),
    ("udacity_p1_solidWhiteRight.jpg", 420, 420, 100, 60), ("udacity_p1_solidYellowCurve2.jpg", 400, 440, 120, 70),
    ("udacity_adv_straight_lines1.jpg", 560, 600, 160, 80), ("taco_b2_000018_crop.jpg", 100, 100, 180, 160),
    ("taco_b2_000018_crop.jpg", 1000, 700, 150, 150), ("taco_b2_000019_crop.jpg", 150, 200, 200, 160),
    ("taco_b2_000019_crop.jpg", 1000, 300, 180, 150), ("taco_b3_IMG_4972_crop.jpg", 700, 100, 200, 200),
    ("taco_b3_IMG_4972_crop.jpg", 150, 1000, 180, 160), ("taco_b2_000044_crop_paving.jpg", 900, 500, 200, 200),
    ("taco_b2_000044_crop_path.jpg", 200, 450, 200, 120), ("udacity_adv_test5.jpg", 250, 600, 150, 90),
]
BAD_IOU = 0.6


@dataclass
class Crop:
    """One evaluation crop: pixels, box prior, polygon (ground truth; the outline-mode prior), margin."""

    key: str
    split: str  # tune | val
    rgb: np.ndarray
    box: np.ndarray
    polygon: np.ndarray
    margin: np.ndarray
    gt: np.ndarray


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = int((a | b).sum())
    return float((a & b).sum()) / union if union else 1.0


def _extract(coco: dict, images: Path, root: Path) -> Workspace:
    ann = root / "ann.json"
    root.mkdir(parents=True, exist_ok=True)
    ann.write_text(json.dumps(coco))
    ws = Workspace.create(root / "ws")
    extract(ws, load_export(ann), PathResolver(base_dir=images), ExtractOptions(margin=0.15), workers=2)
    return ws


def make_crops(name: str, root: Path) -> list[Crop]:
    """The crops of one set (see the module docstring), via garbtui extract."""
    if name == "bg" or name == "bgtune":
        boxes = BACKGROUND_BOXES if name == "bg" else BACKGROUND_TUNE_BOXES
        files = sorted({b[0] for b in boxes})
        coco = {"images": [{"id": i + 1, "file_name": f} for i, f in enumerate(files)],
                "categories": [{"id": 1, "name": "paper"}],
                "annotations": [{"id": n + 1, "image_id": files.index(f) + 1, "category_id": 1, "bbox": [x, y, w, h]}
                                for n, (f, x, y, w, h) in enumerate(boxes)]}
        ws = _extract(coco, PHOTOS / "clean", root / name)
        out = []
        for crop_id in ws.crop_ids():
            meta = ws.load_crop_meta(crop_id)
            box = region_mask(meta)
            out.append(Crop(f"{name}:{meta.result_ids[0]}", "val" if name == "bg" else "tune", read_rgb(ws.raw_path(crop_id)),
                            box, box, margin_mask(meta), np.zeros_like(box)))
        return out
    ann_file = PHOTOS / "annotations.json" if name == "shared" else PHOTOS / "taco_dev" / "annotations.json"
    images = ann_file.parent if name == "shared" else ann_file.parent / "images"
    coco = json.loads(ann_file.read_text())
    image_of = {str(a["id"]): int(a["image_id"]) for a in coco["annotations"]}
    ws = _extract(coco, images, root / name)
    out = []
    for crop_id in ws.crop_ids():
        meta = ws.load_crop_meta(crop_id)
        gt = region_mask(meta, ws.crop_dir(crop_id))
        boxed = meta.model_copy(update={"region": Region(kind="box", bbox=meta.region.bbox)})
        rid = meta.result_ids[0]
        split = "val" if name == "taco_dev" and image_of.get(rid) in TACO_DEV_VAL_IMAGE_IDS else "tune"
        out.append(Crop(f"{name}:{rid}", split, read_rgb(ws.raw_path(crop_id)), region_mask(boxed), gt,
                        margin_mask(boxed), gt))
    return out


def load_crops(sets: list[str], refresh: bool = False) -> list[Crop]:
    """Crops of the named sets, cached in bench/out/crops_<set>.pkl (extraction takes a while)."""
    crops: list[Crop] = []
    OUT.mkdir(parents=True, exist_ok=True)
    for name in sets:
        for part in (["bg", "bgtune"] if name == "bg" else [name]):
            cache = OUT / f"crops_{part}.pkl"
            if cache.exists() and not refresh:
                crops += [Crop(**d) for d in pickle.loads(cache.read_bytes())]
                continue
            with tempfile.TemporaryDirectory() as tmp:
                made = make_crops(part, Path(tmp))
            cache.write_bytes(pickle.dumps([vars(c) for c in made]))
            crops += made
    return crops


def grabcut_box(rgb: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Baseline: OpenCV GrabCut initialised with the box rectangle, full resolution, 5 iterations."""
    ys, xs = np.nonzero(box)
    rect = (int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))
    mask = np.zeros(box.shape, np.uint8)
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.setRNGSeed(0)
    try:
        cv2.grabCut(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), mask, rect, bgd, fgd, 5, cv2.GC_INIT_WITH_RECT)
    except cv2.error:
        return np.zeros(box.shape, bool)
    return (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)


def oracle(labels: np.ndarray, k: int, gt: np.ndarray, where: np.ndarray | None = None) -> float:
    """Best IoU over every subset of clusters (2^k - 1 subsets, done on per-cluster counts).

    With `where`, only pixels there can be kept (as garbtui's manual mode drops the sure background).
    """
    inside = np.ones(labels.shape, bool) if where is None else where
    n = np.bincount(labels[inside], minlength=k)
    g = np.bincount(labels[gt & inside], minlength=k)
    subsets = np.array([[(s >> i) & 1 for i in range(k)] for s in range(1, 1 << k)], dtype=bool)
    inter = subsets @ g
    union = gt.sum() + subsets @ (n - g)
    return float((inter / np.maximum(union, 1)).max())


def oracle_keys(labels: np.ndarray, k: int, auto_mask: np.ndarray, auto_keep: list[int], allowed: np.ndarray,
                gt: np.ndarray) -> float:
    """Best IoU the cleanup screen's keys reach from the automatic cutout (every key state, on per-cluster counts).

    A key takes an automatically kept cluster out (none of its pixels) or puts another one in (all its
    pixels inside the allowed area, plus those the automatic cutout had); untouched clusters keep the
    automatic cutout's pixels (CleanupSession._adjusted_mask). A cluster the automatic cutout has only
    partly (5-95% of its allowed pixels) can be left as it is, put wholly in or taken wholly out.
    """
    base_in = np.bincount(labels[auto_mask & gt], minlength=k)
    base_n = np.bincount(labels[auto_mask], minlength=k)
    full = auto_mask | allowed
    all_in = np.bincount(labels[full & gt], minlength=k)
    all_n = np.bincount(labels[full], minlength=k)
    area = np.maximum(np.bincount(labels[allowed], minlength=k), 1)
    share = np.bincount(labels[auto_mask & allowed], minlength=k) / area
    kept = set(auto_keep)
    # Per cluster, the (in-truth, size) pairs its key can give: 0 = as the automatic cutout, 1 = all in, 2 = out.
    options = []
    for i in range(k):
        if 0.05 < share[i] < 0.95:
            options.append((0, 1, 2))
        else:
            options.append((0, 2) if i in kept else (0, 1))
    choices = np.array(list(itertools.product(*options)), dtype=np.int64)
    inter_of = np.stack([base_in, all_in, np.zeros(k, np.int64)])  # 3 x k
    size_of = np.stack([base_n, all_n, np.zeros(k, np.int64)])
    cols = np.arange(k)
    inter = inter_of[choices, cols].sum(axis=1)
    size = size_of[choices, cols].sum(axis=1)
    union = int(gt.sum()) + size - inter
    return float((inter / np.maximum(union, 1)).max())


def outline(img: np.ndarray, mask: np.ndarray, colour: tuple[int, int, int], width: int) -> None:
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(img, contours, -1, colour, width)


def contact_sheet(rows: list[tuple[str, float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]], cell: int = 220) -> np.ndarray:
    """One row per case: crop with ground truth (green) and cutout (red) outlines, clusters, cutout on grey."""
    lines = []
    for crop_id, score, rgb, gt, mask, preview in rows:
        h, w = rgb.shape[:2]
        s = cell / max(h, w)
        size = (max(1, round(w * s)), max(1, round(h * s)))
        interp = cv2.INTER_NEAREST if s > 1 else cv2.INTER_AREA
        big = cv2.resize(rgb, size, interpolation=interp)
        gt_big = cv2.resize(gt.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
        m_big = cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
        a = big.copy()
        outline(a, gt_big, (0, 255, 0), 2)
        outline(a, m_big, (255, 0, 0), 2)
        b = cv2.resize(preview, size, interpolation=cv2.INTER_NEAREST)
        c = np.where(m_big[:, :, None] > 0, big, 96).astype(np.uint8)
        tiles = []
        for t in (a, b, c):
            canvas = np.zeros((cell, cell, 3), np.uint8)
            canvas[: t.shape[0], : t.shape[1]] = t
            tiles.append(canvas)
        line = np.concatenate(tiles, axis=1)
        cv2.putText(line, f"{crop_id[:44]}  IoU {score:.2f}", (4, cell - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 0), 1)
        lines.append(line)
    return np.concatenate(lines, axis=0)


def summary(name: str, scores: list[float], base: float | None = None) -> str:
    a = np.asarray(scores)
    if a.size == 0:
        return f"{name:34s} (none)"
    ratio = f"  ({a.mean() / base:.2f}x GrabCut-box mean)" if base else ""
    return f"{name:34s} mean {a.mean():.3f}  median {np.median(a):.3f}  worst {a.min():.3f}  <0.6: {(a < BAD_IOU).sum()}{ratio}"


@dataclass
class Row:
    """One crop's figures in one mode."""

    key: str
    split: str
    iou: float
    oracle: float  # best IoU the screen's keys reach from the automatic cutout
    oracle_raw: float  # best IoU of any set of whole clusters (no refinement), in the box / outline
    score: float
    suspect: bool
    evidence: dict[str, float]
    seconds: float


def evaluate(crops: list[Crop], mode: str, k: int | None, baselines: bool = False
             ) -> tuple[list[Row], list[tuple[str, float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]], list[float]]:
    """Run the automatic cleanup on every crop in `mode`; rows, contact-sheet cases and GrabCut-box IoUs."""
    recipe = auto_recipe() if k is None else auto_recipe(k=k)
    rows, cases, gcb = [], [], []
    for c in crops:
        precise = mode == "outline" and c.gt.any()
        prior = c.polygon if precise else c.box
        session = CleanupSession(c.rgb, prior, c.margin, precise=precise)
        t0 = time.perf_counter()
        result = session.run(recipe)
        seconds = time.perf_counter() - t0
        assert result.quality is not None
        score = iou(result.mask, c.gt)
        allowed = session.object_prior if precise else ~session.sure_bg
        ceiling = oracle_keys(result.labels, result.k, result.mask, result.keep, allowed, c.gt)
        raw = oracle(result.labels, result.k, c.gt, allowed)
        rows.append(Row(c.key, c.split, score, ceiling, raw, result.quality.score, result.quality.suspect,
                        session.evidence(result), seconds))
        if c.split == "val" and c.gt.any():  # background boxes have no object to outline
            cases.append((f"{c.key} s{result.quality.score:.2f}", score, c.rgb, c.gt, result.mask, result.cluster_preview))
        if baselines and c.gt.any() and mode == "box":
            gcb.append(iou(grabcut_box(c.rgb, c.box), c.gt))
    return rows, cases, gcb


def report(mode: str, rows: list[Row]) -> None:
    """Print IoU, the oracle ceiling and suspect precision / recall per split."""
    for split in ("tune", "val"):
        objs = [r for r in rows if r.split == split and not r.key.startswith("bg")]
        print(summary(f"{mode} {split} automatic ({len(objs)})", [r.iou for r in objs]))
        print(summary(f"{mode} {split} oracle: keys on auto", [r.oracle for r in objs]))
        print(summary(f"{mode} {split} oracle: raw clusters", [r.oracle_raw for r in objs]))
        every = [r for r in rows if r.split == split]
        bad = np.array([r.iou < BAD_IOU or r.key.startswith("bg") for r in every], bool)
        flag = np.array([r.suspect for r in every], bool)
        bg = np.array([r.key.startswith("bg") for r in every], bool)
        tp, fp = int((flag & bad).sum()), int((flag & ~bad).sum())
        obj_bad = bad & ~bg
        print(f"{'':34s} suspect: {int(flag.sum())} flagged; recall {tp}/{int(bad.sum())} of bad "
              f"(objects {int((flag & obj_bad).sum())}/{int(obj_bad.sum())}, background boxes "
              f"{int((flag & bg).sum())}/{int(bg.sum())}); precision {tp}/{tp + fp}; "
              f"good cutouts flagged {fp}/{int((~bad).sum())}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--k", type=int, default=None, help="k for the automatic recipe (default: the recipe default)")
    parser.add_argument("--mode", choices=("box", "outline", "both"), default="both")
    parser.add_argument("--sets", default="shared,taco_dev,bg", help="comma-separated: shared, taco_dev, bg")
    parser.add_argument("--worst", type=int, default=8, help="validation cases in the contact sheet")
    parser.add_argument("--baselines", action="store_true", help="also GrabCut from the box (slow)")
    parser.add_argument("--refresh", action="store_true", help="extract the crops again (not from bench/out)")
    parser.add_argument("--rows", type=Path, default=None, help="write the per-crop rows (with evidence) as JSON")
    args = parser.parse_args()
    crops = load_crops([s for s in args.sets.split(",") if s], args.refresh)
    print(f"{len(crops)} crops ({', '.join(args.sets.split(','))}); 15% margin; bad = IoU < {BAD_IOU}")
    if crops:
        CleanupSession(crops[0].rgb, crops[0].box, crops[0].margin).run()  # warm-up: one-off OpenCV costs
    dump: dict[str, list[dict[str, object]]] = {}
    for mode in (("box", "outline") if args.mode == "both" else (args.mode,)):
        use = crops if mode == "box" else [c for c in crops if c.gt.any()]
        rows, cases, gcb = evaluate(use, mode, args.k, args.baselines)
        if gcb:
            print(summary(f"{mode} GrabCut from box (all objects)", gcb))
        report(mode, rows)
        times = np.array([r.seconds for r in rows])
        print(f"{'':34s} time per crop: median {np.median(times) * 1000:.0f} ms, max {times.max() * 1000:.0f} ms")
        dump[mode] = [vars(r) for r in rows]
        worst = sorted(cases, key=lambda c: c[1])[: args.worst]
        if worst:
            sheet = contact_sheet(worst)
            atomic_write_png(OUT / f"mask_quality_worst_{mode}.png", sheet)
            print(f"{'':34s} worst validation cutouts: {OUT / f'mask_quality_worst_{mode}.png'} (green truth, red cutout)")
    if args.rows:
        args.rows.write_text(json.dumps(dump))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
