"""Mask quality of the automatic cutout against the TACO ground-truth polygons, next to baselines.

Crops are made with garbtui's own extraction from ../shared/photos/annotations.json (COCO, 15% margin).
Each crop's prior is the annotation's BOX only (the polygon is the ground truth, never an input).
Baselines in the same run: GrabCut from the box (full resolution, 5 iterations), naive k-means (keep the
clusters that do not touch the crop border), and the best possible cluster choice at k = 8 (oracle: the
most a user could reach by toggling clusters). Writes bench/out/mask_quality_worst.png.

    /work/venv/bin/python bench/mask_quality.py [--k 6] [--worst 8]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
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
ANNOTATIONS = SHARED / "photos" / "annotations.json"
OUT = REPO / "bench" / "out"


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = int((a | b).sum())
    return float((a & b).sum()) / union if union else 1.0


def make_crops(root: Path) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """(crop id, rgb, box prior, margin, ground truth) for every annotated object, via garbtui extract.

    The extraction stores the COCO polygon as the crop's region; the box prior is that region's bounds.
    """
    ws = Workspace.create(root)
    parsed = load_export(ANNOTATIONS)
    extract(ws, parsed, PathResolver(base_dir=ANNOTATIONS.parent), ExtractOptions(margin=0.15))
    crops = []
    for crop_id in ws.crop_ids():
        meta = ws.load_crop_meta(crop_id)
        gt = region_mask(meta, ws.crop_dir(crop_id))
        boxed = meta.model_copy(update={"region": Region(kind="box", bbox=meta.region.bbox)})
        crops.append((crop_id, read_rgb(ws.raw_path(crop_id)), region_mask(boxed), margin_mask(boxed), gt))
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


def naive_kmeans(labels: np.ndarray, k: int) -> np.ndarray:
    """Baseline: keep every cluster that does not appear on the crop border."""
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    keep = np.setdiff1d(np.arange(k), border)
    return np.isin(labels, keep)


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


def greedy_toggles(session: CleanupSession, k: int, gt: np.ndarray) -> float:
    """IoU a user reaches by toggling clusters in garbtui (manual mode, refine on), best-first greedy.

    Starts from the automatic choice and flips one cluster at a time while that helps: a lower bound
    of the best toggle set, through the same manual pipeline the TUI runs.
    """
    keep = set(session.run(auto_recipe(k=k)).keep)
    best = iou(session.run(auto_recipe(k=k, keep=sorted(keep), auto=False)).mask, gt)
    improved = True
    while improved:
        improved = False
        for i in range(k):
            trial = sorted(keep ^ {i})
            if not trial:
                continue
            score = iou(session.run(auto_recipe(k=k, keep=trial, auto=False)).mask, gt)
            if score > best + 1e-9:
                best, keep, improved = score, set(trial), True
    return best


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
    ratio = f"  ({a.mean() / base:.2f}x GrabCut-box mean)" if base else ""
    return f"{name:28s} mean {a.mean():.3f}  median {np.median(a):.3f}  worst {a.min():.3f}  <0.5: {(a < 0.5).sum()}{ratio}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--k", type=int, default=None, help="k for the automatic recipe (default: the recipe default)")
    parser.add_argument("--worst", type=int, default=8, help="cases in the contact sheet")
    args = parser.parse_args()
    recipe = auto_recipe() if args.k is None else auto_recipe(k=args.k)
    with tempfile.TemporaryDirectory() as tmp:
        crops = make_crops(Path(tmp) / "ws")
    print(f"{len(crops)} crops from {ANNOTATIONS} (box prior, 15% margin); recipe k={recipe.k} {recipe.color_space}")
    auto, gcb, naive, orc, orc_box, toggles, poly, times, cases = [], [], [], [], [], [], [], [], []
    CleanupSession(*crops[0][1:4]).run(recipe)  # warm-up: first OpenCV / BLAS calls pay one-off costs
    for crop_id, rgb, box, margin, gt in crops:
        session = CleanupSession(rgb, box, margin)
        t0 = time.perf_counter()
        result = session.run(recipe)
        times.append(time.perf_counter() - t0)
        score = iou(result.mask, gt)
        auto.append(score)
        cases.append((crop_id, score, rgb, gt, result.mask, result.cluster_preview))
        gcb.append(iou(grabcut_box(rgb, box), gt))
        labels8 = session.clustering(auto_recipe(k=8)).labels
        naive.append(iou(naive_kmeans(labels8, 8), gt))
        orc.append(oracle(labels8, 8, gt))
        orc_box.append(oracle(labels8, 8, gt, ~margin))
        toggles.append(greedy_toggles(session, 8, gt))
        # Sanity check only (the polygon is the answer here): an exact prior must survive the cleanup.
        poly.append(iou(CleanupSession(rgb, gt, margin, precise=True).run(recipe).mask, gt))
    base = float(np.mean(gcb))
    print(summary("GrabCut from box (baseline)", gcb))
    print(summary("naive k-means k=8", naive, base))
    print(summary("oracle clusters k=8", orc, base))
    print(summary("oracle clusters k=8 in box", orc_box, base))
    print(summary("user toggles k=8 (greedy)", toggles, base))
    print(summary("garbtui automatic", auto, base))
    print(summary("(sanity) polygon as prior", poly, base))
    print(f"automatic cleanup time per crop: mean {np.mean(times) * 1000:.1f} ms, max {np.max(times) * 1000:.1f} ms")
    print("per crop (automatic / GrabCut-box / oracle in box / user toggles):")
    for (crop_id, *_), a, g, o, t in zip(crops, auto, gcb, orc_box, toggles, strict=True):
        print(f"  {crop_id[:52]:52s} {a:.3f}  {g:.3f}  {o:.3f}  {t:.3f}")
    worst = sorted(cases, key=lambda c: c[1])[: args.worst]
    OUT.mkdir(parents=True, exist_ok=True)
    sheet = contact_sheet(worst)
    atomic_write_png(OUT / "mask_quality_worst.png", sheet)
    print(f"worst {len(worst)} cases: {OUT / 'mask_quality_worst.png'} (green ground truth, red cutout)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
