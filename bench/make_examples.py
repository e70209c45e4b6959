"""Make the README's example renders (docs/example_road.jpg, docs/example_front.jpg) with garbtui's own code.

Fragments: the sample workspace's crops, cut along their TACO polygons. Road: a highway photo with its
horizon typed (row 423, as marked in tests/unit/test_horizon.py), litter scaled by perspective (`auto`)
along both road edges. Front: close-up paving with fragments at their real sizes (`auto`: length priors on
the paving's ground scale), each blend mode once. Every placement uses the defaults: colour matching,
the contact shadow (`auto`), focus, noise and JPEG grid matched to the photo. Also writes
docs/example_road_labels.jpg: the lower half of the road render, 2x, with the COCO boxes drawn from
labels/coco.json (the labels, not the placements). Each file stays under 300 KB.

Usage: python bench/make_examples.py [--keep WORKSPACE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("GARBTUI_SHARED", REPO.parent / "shared")).resolve()
DOCS = REPO / "docs"
MAX_BYTES = 300_000


def write_small_jpeg(path: Path, rgb: np.ndarray) -> int:
    from garbtui.core.workspace.atomic import atomic_write_bytes, encode_jpeg

    for quality in (88, 82, 76, 70, 62, 55):
        data = encode_jpeg(rgb, quality)
        if len(data) <= MAX_BYTES:
            break
    atomic_write_bytes(path, data)
    return len(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", type=Path, help="build the workspace here and keep it (default: a temp folder)")
    args = parser.parse_args()

    from garbtui.core.compose.fragment import outline_cutout
    from garbtui.core.export.scene_files import save_and_render
    from garbtui.core.scene.backgrounds import add_background
    from garbtui.core.workspace.imageio import read_rgb
    from garbtui.core.workspace.models import CleanupRecipe, Placement, Scene
    from garbtui.core.workspace.store import Workspace

    tmp = Path(tempfile.mkdtemp(prefix="garbtui-examples-"))
    root = args.keep or tmp / "ws"
    try:
        if root.exists():
            shutil.rmtree(root)
        shutil.copytree(REPO / "sample_data" / "workspace", root)
        ws = Workspace.open(root)
        for crop_id in ws.crop_ids():
            ws.save_proc(crop_id, outline_cutout(ws, crop_id), CleanupRecipe(auto=False))
        by_label: dict[str, list[str]] = {}
        for crop_id in ws.crop_ids():
            by_label.setdefault(ws.load_crop_meta(crop_id).label, []).append(crop_id)

        def crop(label: str, n: int = 0) -> str:
            ids = by_label[label]
            return ids[n % len(ids)]

        road_bg = add_background(ws, SHARED / "photos" / "clean" / "udacity_adv_straight_lines1.jpg", "road",
                                 horizon=423.0, camera_height=1.3, bg_id="highway")
        # Along the right shoulder line and the left yellow edge, from near to far: perspective shrinks them.
        road_spots = [
            ("Clear plastic bottle", 0, 1030, 650, "feather", 10.0, False),
            ("Drink can", 0, 905, 600, "feather", -25.0, False),
            ("Paper cup", 1, 825, 552, "poisson", 60.0, True),
            ("Crisp packet", 0, 770, 510, "feather", 0.0, False),
            ("Drink can", 1, 728, 478, "feather", 80.0, True),
            ("Disposable food container", 0, 748, 492, "feather", 0.0, False),
            ("Paper cup", 0, 300, 655, "feather", -70.0, False),
            ("Drink can", 2, 372, 600, "poisson", 15.0, False),
            ("Plastic lid", 0, 468, 530, "feather", 30.0, False),
            ("Clear plastic bottle", 0, 540, 478, "feather", -15.0, True),
        ]
        road = Scene(id="example-road", background_id=road_bg.id, seed=1, placements=[
            Placement(crop_id=crop(lbl, n), x=x, y=y, scale="auto", blend=b, rotation=r, flip=f)
            for lbl, n, x, y, b, r, f in road_spots])
        road_res = save_and_render(ws, road)

        front_bg = add_background(ws, SHARED / "photos" / "clean" / "taco_b2_000044_crop_paving.jpg", "front",
                                  bg_id="paving")
        front = Scene(id="example-front", background_id=front_bg.id, seed=1, placements=[
            Placement(crop_id=crop("Drink can"), x=330, y=520, blend="none", rotation=-10),
            Placement(crop_id=crop("Paper cup", 1), x=650, y=470, blend="feather", rotation=25),
            Placement(crop_id=crop("Clear plastic bottle"), x=930, y=640, blend="poisson", rotation=-35),
            Placement(crop_id=crop("Crisp packet"), x=520, y=860, blend="feather", flip=True),
            Placement(crop_id=crop("Plastic lid"), x=1060, y=900, blend="poisson", rotation=40),
            Placement(crop_id=crop("Drink can", 1), x=760, y=880, blend="feather", rotation=95),
        ])
        front_res = save_and_render(ws, front)

        DOCS.mkdir(exist_ok=True)
        for name, scene_id in (("example_road.jpg", "example-road"), ("example_front.jpg", "example-front")):
            rgb = read_rgb(ws.scene_dir(scene_id) / "render.jpg")
            size = write_small_jpeg(DOCS / name, rgb)
            print(f"docs/{name}: {rgb.shape[1]}x{rgb.shape[0]}, {size / 1000:.0f} KB")
        # The road labels, drawn from coco.json on the lower half at 2x.
        coco = json.loads((ws.scene_dir("example-road") / "labels" / "coco.json").read_text())
        img = read_rgb(ws.scene_dir("example-road") / "render.jpg")
        top = 430
        detail = cv2.resize(img[top:], None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
        names = {c["id"]: c["name"] for c in coco["categories"]}
        for ann in coco["annotations"]:
            x, y, w, h = ann["bbox"]
            p0 = (int(2 * x) - 1, int(2 * (y - top)) - 1)
            p1 = (int(2 * (x + w)), int(2 * (y + h - top)))
            cv2.rectangle(detail, p0, p1, (255, 40, 40), 1)
            cv2.putText(detail, names[ann["category_id"]], (p0[0], p0[1] - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                        (255, 255, 255), 1, cv2.LINE_AA)
        detail = detail[:, 300:2300]
        size = write_small_jpeg(DOCS / "example_road_labels.jpg", detail)
        print(f"docs/example_road_labels.jpg: {detail.shape[1]}x{detail.shape[0]}, {size / 1000:.0f} KB")
        for res in (road_res, front_res):
            print(f"{res.scene_id}: {len(res.kept)} labelled, heights "
                  + ",".join(str(o.bbox[3] - o.bbox[1]) for o in res.objects)
                  + ("; warnings: " + "; ".join(res.warnings) if res.warnings else ""))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
