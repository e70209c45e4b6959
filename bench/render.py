"""Scene render time at 1920x1080 with 5 fragments per blend mode, against the bare JPEG encode of the same image.

Fragments are the sample workspace's crops cut along their TACO polygons. Two layouts per blend mode:
`road-auto` (perspective scale on a highway photo: small, distant objects) and `front-1.0` (the
fragments at their full cut size, 100-300 px: the expensive case). Colour match and contact shadow
are on. Times are medians; `render` includes reading the background and fragments from disk,
`render warm` reuses a fragment cache as the TUI preview does, `save` is the CLI path (render +
render.jpg + COCO/YOLO/Label Studio files). The baseline is cv2 JPEG encoding (quality 92) of the same
1920x1080 render, measured in the same process.

Usage: python bench/render.py [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("GARBTUI_SHARED", REPO.parent / "shared")).resolve()


def median_time(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: imports, first allocation
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    from garbtui.core.compose import render_scene
    from garbtui.core.compose.fragment import outline_cutout
    from garbtui.core.export.scene_files import save_and_render
    from garbtui.core.scene.backgrounds import add_background
    from garbtui.core.workspace.atomic import atomic_write_jpeg, encode_jpeg
    from garbtui.core.workspace.imageio import read_rgb
    from garbtui.core.workspace.models import CleanupRecipe, Placement, Scene
    from garbtui.core.workspace.store import Workspace

    tmp = Path(tempfile.mkdtemp(prefix="garbtui-bench-render-"))
    try:
        shutil.copytree(REPO / "sample_data" / "workspace", tmp / "ws")
        ws = Workspace.open(tmp / "ws")
        crops = ws.crop_ids()
        picked = [c for c in crops if ws.load_crop_meta(c).label in
                  ("Drink can", "Paper cup", "Clear plastic bottle", "Crisp packet", "Disposable food container")]
        picked = list(dict.fromkeys(picked))[:5]
        for c in picked:
            ws.save_proc(c, outline_cutout(ws, c), CleanupRecipe(auto=False))
        # The highway photo upscaled to 1920x1080 (its marked horizon row 423 of 720 scales to 634.5).
        src = read_rgb(SHARED / "photos" / "clean" / "udacity_adv_straight_lines1.jpg")
        big = cv2.resize(src, (1920, 1080), interpolation=cv2.INTER_CUBIC)
        atomic_write_jpeg(tmp / "highway_1080p.jpg", big, 92)
        bg = add_background(ws, tmp / "highway_1080p.jpg", "road", horizon=634.5, bg_id="hw1080")
        front = add_background(ws, tmp / "highway_1080p.jpg", "front", bg_id="fr1080")

        def scene(blend: str, kind: str) -> Scene:
            if kind == "road-auto":
                spots = [(500, 900), (760, 1000), (1150, 820), (1450, 1060), (300, 1040)]
                return Scene(id=f"b-{blend}", background_id=bg.id, placements=[
                    Placement(crop_id=c, x=x, y=y, scale="auto", blend=blend, shadow=True, rotation=20 * i)
                    for i, (c, (x, y)) in enumerate(zip(picked, spots, strict=False))])
            spots = [(400, 500), (800, 600), (1200, 700), (1600, 800), (1000, 1000)]
            return Scene(id=f"b-{blend}", background_id=front.id, placements=[
                Placement(crop_id=c, x=x, y=y, scale=1.0, blend=blend, shadow=True, rotation=20 * i)
                for i, (c, (x, y)) in enumerate(zip(picked, spots, strict=False))])

        image = render_scene(ws, scene("feather", "front-1.0")).image
        base = median_time(lambda: encode_jpeg(image, 92), args.repeats)
        decode = median_time(lambda: read_rgb(tmp / "highway_1080p.jpg"), args.repeats)
        print(f"1920x1080, {len(picked)} fragments, median of {args.repeats}")
        print(f"baseline: bare JPEG encode (q92) {base * 1000:7.1f} ms   (JPEG decode of the background "
              f"{decode * 1000:.1f} ms)")
        print(f"{'layout':10s} {'blend':8s} {'render ms':>10s} {'x encode':>9s} {'warm ms':>9s} {'x encode':>9s} "
              f"{'save ms':>9s} {'x encode':>9s}  object heights px")
        for kind in ("road-auto", "front-1.0"):
            for blend in ("none", "feather", "poisson"):
                sc = scene(blend, kind)
                cold = median_time(lambda sc=sc: render_scene(ws, sc), args.repeats)
                cache: dict = {}
                render_scene(ws, sc, fragments=cache)
                warm = median_time(lambda sc=sc, cache=cache: render_scene(ws, sc, fragments=cache), args.repeats)
                save = median_time(lambda sc=sc, cache=cache: save_and_render(ws, sc, fragments=cache), args.repeats)
                res = render_scene(ws, sc, fragments=cache)
                heights = ",".join(str(o.bbox[3] - o.bbox[1]) for o in res.objects)
                print(f"{kind:10s} {blend:8s} {cold * 1000:10.1f} {cold / base:9.2f} {warm * 1000:9.1f} "
                      f"{warm / base:9.2f} {save * 1000:9.1f} {save / base:9.2f}  {heights}")
        prev = scene("poisson", "front-1.0")
        cache = {}
        render_scene(ws, prev, fragments=cache, max_size=640)
        t = median_time(lambda: render_scene(ws, prev, fragments=cache, max_size=640), args.repeats)
        print(f"TUI preview (max_size 640, poisson, warm): {t * 1000:.1f} ms = {t / base:.2f} x encode")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
