"""Bench: where generated litter lands, how well the automatic surface estimate finds the ground, segment speed.

1. Placement: a workspace of the sample's 11 fragments (cut along their TACO polygons) and the hand-labelled
   photos as backgrounds (tune set: the 21 shared road/clean photos the estimate was tuned on; validation
   set: 7 taco_dev photos labelled for this bench and never used for tuning). `generate`'s planner makes
   COUNT scenes per size, each is rendered with garbtui's own renderer (the visible masks a dataset holds),
   and every object is scored against the hand labels:
     contact on ground     the contact point (bottom centre) on road | pavement | grass | ground
     lower edge on ground  every lowest visible pixel of the mask (per column) on ground
     touching              contact point or lower edge on vehicle | person | sky | building
   plus images without any labelled object, and per-class counts. Once with no seg.json (the automatic
   estimate, what a user who labels nothing gets) and once with the hand labels as seg.json.
2. Estimate: ground IoU of the automatic estimate against the hand labels, per photo (tune / validation).
3. Speed: `segment` per 1280x720 photo for each backend (auto; an ONNX model with --onnx), wall and CPU
   time, as ratios against a 2048x2048 float32 matmul timed in the same run (the machine is shared).

    .venv/bin/python bench/placement.py [--count 300] [--sizes 640x480 320x320] [--onnx MODEL.onnx] [--examples]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from garbtui.core.compose.fragment import outline_cutout  # noqa: E402 - imported after the sys.path line above
from garbtui.core.generate.recipe import RunSettings  # noqa: E402 - imported after the sys.path line above
from garbtui.core.generate.render import RenderCache, image_outputs  # noqa: E402 - imported after the sys.path line above
from garbtui.core.generate.sampler import build_catalog, plan_recipes  # noqa: E402 - imported after the sys.path line above
from garbtui.core.scene.auto import estimate_surfaces  # noqa: E402 - imported after the sys.path line above
from garbtui.core.scene.backgrounds import add_background, trusted_horizon  # noqa: E402 - imported after the sys.path line
from garbtui.core.scene.surfaces import (  # noqa: E402 - imported after the sys.path line above
    FORBIDDEN,
    GROUND_SURFACES,
    SURFACES,
    SegMap,
    rasterize,
    surface_ids,
)
from garbtui.core.workspace.imageio import read_rgb  # noqa: E402 - imported after the sys.path line above
from garbtui.core.workspace.models import CleanupRecipe  # noqa: E402 - imported after the sys.path line above
from garbtui.core.workspace.rle import coco_rle_decode  # noqa: E402 - imported after the sys.path line above
from garbtui.core.workspace.store import Workspace  # noqa: E402 - imported after the sys.path line above

SHARED = Path(os.environ.get("GARBTUI_SHARED", REPO.parent / "shared"))
PHOTOS = SHARED / "photos"
TUNE_LABELS = REPO / "bench" / "data" / "seg"
VAL_LABELS = REPO / "bench" / "data" / "seg_validation"
# The scene kind a user would pick: road = a view along the ground, front = looking down at it.
FRONT = {"taco_b1_000001", "taco_b1_000003", "taco_b1_000111", "taco_b2_000088", "taco_b2_000044_crop_paving",
         "taco_b3_IMG_4972_crop", "skimage_grass", "skimage_gravel", "batch_1_000118", "batch_2_000007",
         "batch_2_000041", "batch_2_000074", "batch_2_000098", "batch_2_000055"}
GROUND = surface_ids(list(GROUND_SURFACES))
FORBID = surface_ids(list(FORBIDDEN))


def photo_of(stem: str) -> Path:
    found = [p for p in PHOTOS.glob(f"*/{stem}.*")] + [p for p in (PHOTOS / "taco_dev" / "images").glob(f"{stem}.*")]
    if not found:
        raise SystemExit(f"photo {stem} not found under {PHOTOS}")
    return found[0]


def label_sets() -> dict[str, dict[str, Path]]:
    return {"tune": {p.stem: p for p in sorted(TUNE_LABELS.glob("*.json"))},
            "validation": {p.stem: p for p in sorted(VAL_LABELS.glob("*.json"))}}


def make_workspace(root: Path, labels: dict[str, Path], hand: bool) -> Workspace:
    shutil.copytree(REPO / "sample_data" / "workspace", root)
    ws = Workspace.open(root)
    for bg_id in ws.background_ids():
        shutil.rmtree(ws.background_dir(bg_id))
    for crop_id in ws.crop_ids():
        ws.save_proc(crop_id, outline_cutout(ws, crop_id), CleanupRecipe(auto=False))
    for stem, label in labels.items():
        add_background(ws, photo_of(stem), "front" if stem in FRONT else "road", bg_id=stem)
        if hand:
            shutil.copyfile(label, ws.background_dir(stem) / "seg.json")
    return ws


def score(ws: Workspace, recipes: list, categories: list[str], maps: dict[str, np.ndarray],
          keep: list | None = None) -> dict[str, object]:
    cache = RenderCache(ws)
    rows: list[dict[str, object]] = []
    empty = 0
    for r in recipes:
        out = image_outputs(ws, r, categories, cache)
        if keep is not None and len(keep) < 12 and out.record.objects:
            keep.append((r, out.jpeg))
        if not out.record.objects:
            empty += 1
        lab = maps[r.background_id]
        H, W = lab.shape
        x0, y0, x1, _ = r.window
        s = r.size[0] / (x1 - x0)
        for obj in out.record.objects:
            p = r.placements[obj.placement_index]
            m = coco_rle_decode(obj.rle)
            cols = np.flatnonzero(m.any(axis=0))
            bottom = m.shape[0] - 1 - np.argmax(m[::-1, cols], axis=0)
            ex = np.clip(((cols + 0.5) / s + x0).astype(int), 0, W - 1)
            ey = np.clip(((bottom + 0.5) / s + y0).astype(int), 0, H - 1)
            edge = lab[ey, ex]
            c = lab[int(np.clip(y0 + p.y / s - 0.5, 0, H - 1)), int(np.clip(x0 + p.x / s, 0, W - 1))]
            bx0, by0, bx1, by1 = obj.bbox
            rows.append({"label": obj.label, "bg": r.background_id, "on": bool(np.isin(c, GROUND)),
                         "edge": bool(np.isin(edge, GROUND).all()),
                         "touch": bool(np.isin(c, FORBID) or np.isin(edge, FORBID).any()),
                         "surface": SURFACES[int(c)], "size": max(bx1 - bx0, by1 - by0)})
    n = max(1, len(rows))
    classes = Counter(str(o["label"]) for o in rows)
    return {"images": len(recipes), "empty_images": empty, "objects": len(rows),
            "contact_on_ground": round(sum(bool(o["on"]) for o in rows) / n, 4),
            "lower_edge_on_ground": round(sum(bool(o["edge"]) for o in rows) / n, 4),
            "touching_vehicle_person_sky_building": round(sum(bool(o["touch"]) for o in rows) / n, 4),
            "objects_under_8px": sum(int(o["size"]) < 8 for o in rows),  # type: ignore[call-overload]
            "class_min_max": [min(classes.values(), default=0), max(classes.values(), default=0)],
            "classes": dict(sorted(classes.items())),
            "contact_surfaces": dict(Counter(str(o["surface"]) for o in rows).most_common()),
            "per_background": {bg: {"objects": len(rs), "on_ground": round(sum(bool(o["on"]) for o in rs) / len(rs), 3),
                                    "touching": round(sum(bool(o["touch"]) for o in rs) / len(rs), 3)}
                               for bg in sorted({str(o["bg"]) for o in rows})
                               for rs in [[o for o in rows if o["bg"] == bg]]}}


def placement(count: int, sizes: list[tuple[int, int]], examples: Path | None) -> dict[str, object]:
    results: dict[str, object] = {}
    for set_name, labels in label_sets().items():
        for mode in ("auto", "hand"):
            with tempfile.TemporaryDirectory() as tmp:
                ws = make_workspace(Path(tmp) / "ws", labels, hand=mode == "hand")
                maps = {}
                for stem, path in labels.items():
                    meta = ws.load_background_meta(stem)
                    maps[stem] = rasterize(SegMap.load(path), meta.width, meta.height)
                for size in sizes:
                    catalog = build_catalog(ws)
                    t0 = time.perf_counter()
                    recipes = list(plan_recipes(catalog, RunSettings(seed=7, size=size), count))
                    plan_s = time.perf_counter() - t0
                    keep: list | None = [] if (examples and mode == "auto" and size == sizes[0]) else None
                    res = score(ws, recipes, catalog.categories, maps, keep)
                    res["plan_seconds"] = round(plan_s, 2)
                    res["notes"] = catalog.notes
                    key = f"{set_name}/{mode}/{size[0]}x{size[1]}"
                    results[key] = res
                    print(f"{key:28s} on ground {res['contact_on_ground']:.3f}  lower edge {res['lower_edge_on_ground']:.3f}  "
                          f"touching {res['touching_vehicle_person_sky_building']:.3f}  empty {res['empty_images']}/{count}  "
                          f"objects {res['objects']}  classes {res['class_min_max']}  plan {plan_s:.1f} s", flush=True)
                    if keep:
                        contact_sheet(keep, examples / f"generate_surfaces_{set_name}.jpg")
    return results


def contact_sheet(items: list, path: Path) -> None:
    tiles = []
    for _r, jpeg in items[:8]:
        img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        tiles.append(cv2.resize(img, (320, 240), interpolation=cv2.INTER_AREA))
    while len(tiles) % 4:
        tiles.append(np.full((240, 320, 3), 255, np.uint8))
    sheet = np.vstack([np.hstack(tiles[i:i + 4]) for i in range(0, len(tiles), 4)])
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), sheet, [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(f"wrote {path}")


def estimate_iou() -> dict[str, object]:
    from garbtui.core.scene.horizon import estimate_horizon
    from garbtui.core.workspace.models import BackgroundMeta

    out: dict[str, object] = {}
    for set_name, labels in label_sets().items():
        per: dict[str, float] = {}
        for stem, path in labels.items():
            rgb = read_rgb(photo_of(stem))
            h, w = rgb.shape[:2]
            est = estimate_horizon(rgb) if stem not in FRONT else None
            meta = BackgroundMeta(id="x", file="image.jpg", width=w, height=h, scene="front" if stem in FRONT else "road",
                                  horizon_row=None if est is None or est.row is None else est.row,
                                  horizon_estimated=True, horizon_confidence=0.0 if est is None else est.confidence)
            lab, _ = estimate_surfaces(rgb, trusted_horizon(meta))
            hand = rasterize(SegMap.load(path), w, h)
            a, b = np.isin(lab, GROUND), np.isin(hand, GROUND)
            per[stem] = round(float((a & b).sum() / max(1, (a | b).sum())), 3)
        out[set_name] = {"mean_iou": round(float(np.mean(list(per.values()))), 3), "per_photo": per}
        print(f"estimate IoU {set_name}: mean {out[set_name]['mean_iou']:.3f}  "  # type: ignore[index]
              + "  ".join(f"{k} {v:.2f}" for k, v in per.items()), flush=True)
    return out


def speed(onnx: Path | None, repeat: int) -> dict[str, object]:
    from garbtui.core.scene.segment import open_segmenter

    photos = [read_rgb(p) for p in sorted((PHOTOS / "road").glob("cnilo_santiago_IMG_*.jpg"))]
    assert all(p.shape[:2] == (720, 1280) for p in photos)
    a = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)

    def timed(fn) -> tuple[float, float]:  # noqa: ANN001 - any callable
        walls, cpus = [], []
        for _ in range(repeat):
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
        return min(walls), min(cpus)

    base_wall, base_cpu = timed(lambda: a @ a)
    out: dict[str, object] = {"baseline_matmul_2048": {"wall_s": round(base_wall, 3), "cpu_s": round(base_cpu, 3)},
                              "load_average": os.getloadavg()}
    backends = [("auto", "auto")] + ([("onnx", str(onnx))] if onnx else [])
    for name, spec in backends:
        seg = open_segmenter(spec, threads=2)
        per = [timed(lambda p=p, seg=seg: seg.segment(p, None)) for p in photos]
        wall = float(np.mean([w for w, _ in per]))
        cpu = float(np.mean([c for _, c in per]))
        out[name] = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "wall_ratio": round(wall / base_wall, 2),
                     "cpu_ratio": round(cpu / base_cpu, 2), "model": spec}
        print(f"segment {name:5s} 1280x720: {wall:.2f} s wall ({wall / base_wall:.1f}x the matmul), "
              f"{cpu:.2f} s CPU ({cpu / base_cpu:.1f}x); load {os.getloadavg()[0]:.1f}", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--sizes", nargs="+", default=["640x480", "320x320"])
    ap.add_argument("--onnx", type=Path, help="an ONNX segmentation model to time (e.g. a SegFormer-B0 export)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--examples", type=Path, help="write contact sheets of generated images into this folder")
    ap.add_argument("--json", type=Path, help="write every figure here")
    ap.add_argument("--skip", nargs="*", default=[], choices=["placement", "iou", "speed"])
    args = ap.parse_args()
    sizes = [tuple(int(v) for v in s.lower().split("x")) for s in args.sizes]
    figures: dict[str, object] = {}
    if "iou" not in args.skip:
        figures["estimate"] = estimate_iou()
    if "speed" not in args.skip:
        figures["speed"] = speed(args.onnx, args.repeat)
    if "placement" not in args.skip:
        figures["placement"] = placement(args.count, sizes, args.examples)  # type: ignore[arg-type]
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
