"""Extraction end to end on every real export, with crop geometry recomputed independently."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from garbtui.cli import main
from garbtui.core.workspace.rle import decode_ls_rle
from garbtui.core.workspace.store import Workspace
from tests.conftest import LABELSTUDIO, PHOTOS

FILES = LABELSTUDIO / "files"
LS_ARGS = [
    "--local-files-root", str(FILES),
    "--media-root", str(LABELSTUDIO / "media"),
    "--path-map", f"/srv/labelstudio/files={FILES}",
]
MARGIN = 0.15


def upright(path: Path) -> Image.Image:
    """The photo as Label Studio showed it: EXIF orientation applied (PIL, independent of garbtui)."""
    return ImageOps.exif_transpose(Image.open(path)).convert("RGB")


def expected_window(x0: float, y0: float, x1: float, y1: float, w: int, h: int, margin: float = MARGIN):
    """The documented crop rule, recomputed here: clamp, widen by the margin, clamp again."""
    bx0, by0, bx1, by1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    mx, my = margin * (bx1 - bx0), margin * (by1 - by0)
    return (
        max(0, math.floor(bx0 - mx + 1e-6)),
        max(0, math.floor(by0 - my + 1e-6)),
        min(w, math.ceil(bx1 + mx - 1e-6)),
        min(h, math.ceil(by1 + my - 1e-6)),
    )


def resolve_ls(ref: str) -> Path:
    from urllib.parse import unquote

    if ref.startswith("/data/local-files/?d="):
        return FILES / unquote(ref.split("?d=", 1)[1])
    if ref.startswith("/data/upload/"):
        return LABELSTUDIO / "media" / unquote(ref[len("/data/"):])
    return FILES / ref[len("/srv/labelstudio/files/"):]


def inside(x: float, y: float, poly: np.ndarray) -> bool:
    """Even-odd ray casting, written out plainly as the reference for the rasteriser."""
    result = False
    n = len(poly)
    for i in range(n):
        (x0, y0), (x1, y1) = poly[i], poly[(i + 1) % n]
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            result = not result
    return result


def crops_by_result(ws: Workspace) -> dict[str, tuple[str, object]]:
    out = {}
    for crop_id in ws.crop_ids():
        meta = ws.load_crop_meta(crop_id)
        for rid in meta.result_ids:
            out[rid] = (crop_id, meta)
    return out


@pytest.fixture(scope="module")
def rect_ws(tmp_path_factory) -> Workspace:
    root = tmp_path_factory.mktemp("rect") / "ws"
    # Every annotation: task 1's older annotation holds the rotated box.
    assert main(["extract", str(LABELSTUDIO / "rectangles.json"), "-w", str(root), *LS_ARGS, "-q",
                 "--annotations", "all"]) == 0
    return Workspace.open(root)


def test_every_rectangle_is_cut_to_the_pixel(rect_ws: Workspace) -> None:
    tasks = json.loads((LABELSTUDIO / "rectangles.json").read_text())
    by_result = crops_by_result(rect_ws)
    checked = 0
    for task in tasks:
        anns = [a for a in task["annotations"] if not a["was_cancelled"]]
        if not anns:
            continue
        photo = upright(resolve_ls(task["data"]["image"]))
        W, H = photo.size
        for res in [r for a in anns for r in a["result"]]:
            v = res["value"]
            crop_id, meta = by_result[res["id"]]
            x, y = v["x"] * W / 100, v["y"] * H / 100
            w, h = v["width"] * W / 100, v["height"] * H / 100
            a = math.radians(v.get("rotation", 0))
            corners = np.array([[0, 0], [w, 0], [w, h], [0, h]]) @ np.array(
                [[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]]
            ) + [x, y]
            win = expected_window(*corners.min(0), *corners.max(0), W, H)
            assert (meta.origin_x, meta.origin_y) == win[:2], crop_id
            assert (meta.crop_width, meta.crop_height) == (win[2] - win[0], win[3] - win[1]), crop_id
            assert (meta.image_width, meta.image_height) == (W, H)
            raw = np.asarray(Image.open(rect_ws.raw_path(crop_id)).convert("RGB"), dtype=np.int16)
            ref = np.asarray(photo.crop(win), dtype=np.int16)
            assert raw.shape == ref.shape
            assert np.abs(raw - ref).mean() < 1.5, f"{crop_id} pixels differ from the photo"
            checked += 1
    assert checked == 27


def test_exif_rotated_photo_is_cut_upright(rect_ws: Workspace) -> None:
    metas = [rect_ws.load_crop_meta(c) for c in rect_ws.crop_ids()]
    rotated = [m for m in metas if "rotated_exif6" in m.source_path]
    assert rotated and all((m.image_width, m.image_height) == (800, 1200) for m in rotated)
    image = rect_ws.load_image_meta(rotated[0].image_id)
    assert image.exif_orientation == 6 and (image.width, image.height) == (800, 1200)
    stored = Image.open(rect_ws.image_path(image.id))
    assert stored.size == (800, 1200)


def test_rotated_box_keeps_turned_corners(rect_ws: Workspace) -> None:
    bag = [m for m in (rect_ws.load_crop_meta(c) for c in rect_ws.crop_ids()) if m.region.rotation == 30]
    assert len(bag) == 1
    corners = np.array(bag[0].region.corners)
    assert corners.shape == (4, 2)
    edge = corners[1] - corners[0]
    assert math.degrees(math.atan2(edge[1], edge[0])) == pytest.approx(30)


def test_box_past_the_edge_is_clamped(rect_ws: Workspace) -> None:
    clamped = [m for m in (rect_ws.load_crop_meta(c) for c in rect_ws.crop_ids()) if m.region.clamped]
    assert clamped, "rectangles.json has a box reaching past the image"
    for meta in clamped:
        assert meta.origin_x + meta.crop_width <= meta.image_width
        assert meta.region.bbox.x1 <= meta.image_width


def test_missing_original_width_takes_size_from_image(rect_ws: Workspace) -> None:
    metas = [rect_ws.load_crop_meta(c) for c in rect_ws.crop_ids()]
    task8 = [m for m in metas if m.task_id == "8"]
    assert not task8[0].region.clamped
    assert len(task8) == 2 and all((m.image_width, m.image_height) == (640, 480) for m in task8)


def test_tiny_and_large_images(rect_ws: Workspace) -> None:
    metas = [rect_ws.load_crop_meta(c) for c in rect_ws.crop_ids()]
    assert {(m.image_width, m.image_height) for m in metas} >= {(64, 48), (4000, 3000)}


def test_rerun_is_a_noop(rect_ws: Workspace, capsys) -> None:
    before = {p: p.stat().st_mtime_ns for p in rect_ws.root.rglob("*") if p.is_file()}
    assert main(["extract", str(LABELSTUDIO / "rectangles.json"), "-w", str(rect_ws.root), *LS_ARGS, "-q",
                 "--annotations", "all"]) == 0
    after = {p: p.stat().st_mtime_ns for p in rect_ws.root.rglob("*") if p.is_file()}
    assert before == after
    assert "0 new crop(s), 27 already there" in capsys.readouterr().out


def test_json_min_export_gives_the_same_crops(rect_ws: Workspace, tmp_path: Path) -> None:
    root = tmp_path / "min"
    assert main(["extract", str(LABELSTUDIO / "rectangles.min.json"), "-w", str(root), *LS_ARGS, "-q",
                 "--annotations", "all"]) == 0
    assert Workspace.open(root).crop_ids() == rect_ws.crop_ids()


def test_polygons_keep_points_and_mask(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    assert main(["extract", str(LABELSTUDIO / "polygons.json"), "-w", str(root), *LS_ARGS, "-q"]) == 0
    ws = Workspace.open(root)
    from garbtui.core.workspace.regions import region_mask

    tasks = json.loads((LABELSTUDIO / "polygons.json").read_text())
    by_result = crops_by_result(ws)
    for task in tasks:
        photo = upright(resolve_ls(task["data"]["image"]))
        W, H = photo.size
        for res in task["annotations"][0]["result"]:
            crop_id, meta = by_result[res["id"]]
            pts = np.array(res["value"]["points"]) * [W / 100, H / 100]
            assert np.allclose(np.array(meta.region.points), pts)
            win = expected_window(*pts.min(0), *pts.max(0), W, H)
            assert (meta.origin_x, meta.origin_y, meta.crop_width, meta.crop_height) == (
                win[0], win[1], win[2] - win[0], win[3] - win[1])
            # Independent raster: ray casting at every pixel centre.
            local = pts - [meta.origin_x, meta.origin_y]
            ref = np.array([[inside(c + 0.5, r + 0.5, local) for c in range(meta.crop_width)]
                            for r in range(meta.crop_height)])
            ours = region_mask(meta, ws.crop_dir(crop_id))
            agree = (ref == ours).mean()
            assert ours.sum() > 0 and agree > 0.999, crop_id


def test_brush_masks_are_saved_thresholded(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    assert main(["extract", str(LABELSTUDIO / "brush.json"), "-w", str(root), *LS_ARGS, "-q"]) == 0
    ws = Workspace.open(root)
    by_result = crops_by_result(ws)
    for task in json.loads((LABELSTUDIO / "brush.json").read_text()):
        for res in task["annotations"][0]["result"]:
            crop_id, meta = by_result[res["id"]]
            w, h = res["original_width"], res["original_height"]
            # decode_ls_rle gives label-studio-sdk's bytes (tests/unit/test_labelstudio_reference.py).
            full = decode_ls_rle(res["value"]["rle"], w, h)[:, :, 3] >= 128
            ys, xs = np.nonzero(full)
            win = expected_window(xs.min(), ys.min(), xs.max() + 1, ys.max() + 1, w, h)
            assert (meta.origin_x, meta.origin_y) == win[:2]
            saved = np.asarray(Image.open(ws.mask_path(crop_id))) > 127
            assert np.array_equal(saved, full[win[1]:win[3], win[0]:win[2]])
            assert meta.region.kind == "brush" and meta.region.mask_file == "mask.png"


def test_coco_annotations_with_polygons(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    code = main(["extract", str(PHOTOS / "annotations.json"), "-w", str(root), "--scene", "road", "-q"])
    assert code == 0
    ws = Workspace.open(root)
    coco = json.loads((PHOTOS / "annotations.json").read_text())
    assert len(ws.crop_ids()) == len(coco["annotations"]) == 28
    by_result = crops_by_result(ws)
    for ann in coco["annotations"]:
        crop_id, meta = by_result[str(ann["id"])]
        pts = np.array(ann["segmentation"][0]).reshape(-1, 2)
        img = next(i for i in coco["images"] if i["id"] == ann["image_id"])
        all_pts = np.concatenate([np.array(s).reshape(-1, 2) for s in ann["segmentation"]])
        win = expected_window(*all_pts.min(0), *all_pts.max(0), img["width"], img["height"])
        assert (meta.origin_x, meta.origin_y) == win[:2], crop_id
        assert meta.region.kind == "polygon" and len(meta.region.points) >= 3
        assert meta.scene == "road"
        del pts


def test_taco_sample_merges_box_and_outline(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    export = LABELSTUDIO / "taco_sample.json"
    assert main(["extract", str(export), "-w", str(root), "--local-files-root", str(LABELSTUDIO.parent), "-q"]) == 0
    ws = Workspace.open(root)
    metas = [ws.load_crop_meta(c) for c in ws.crop_ids()]
    assert len(metas) == 28  # 56 regions: a box and an outline per object
    assert all(m.region.kind == "polygon" and len(m.result_ids) == 2 for m in metas)
    assert {m.scene for m in metas} == {"road", "front"}
    assert {m.surface for m in metas} >= {"road", "grass"}


def test_every_shared_export_extracts(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    for name in ["rectangles.json", "rectangles.min.json", "polygons.json", "polygons.min.json",
                 "brush.json", "brush.min.json"]:
        assert main(["extract", str(LABELSTUDIO / name), "-w", str(root), *LS_ARGS, "-q"]) == 0, name
    status = Workspace.open(root).status()
    # 22 boxes, 8 polygons, 5 brush masks; 3 polygons and 4 masks outline an object the boxes project
    # already cut (same photo, same label, boxes overlapping >= 0.7): one crop per object.
    assert status.crops_pending == 22 + (8 - 3) + (5 - 4) and status.crops_broken == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "invalid JSON"),
        ('{"hello": 1}', "neither a Label Studio export"),
        ("42", "neither a Label Studio export"),
    ],
)
def test_bad_exports_are_one_line_errors(tmp_path: Path, capsys, content: str, message: str) -> None:
    export = tmp_path / "export.json"
    export.write_text(content)
    assert main(["extract", str(export), "-w", str(tmp_path / "ws")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and str(export) in err


def test_missing_image_and_unknown_region_are_skipped_with_reasons(tmp_path: Path, capsys) -> None:
    photo = tmp_path / "photo.png"
    Image.new("RGB", (100, 80), (40, 120, 40)).save(photo)
    tasks = [
        {"id": 1, "data": {"image": "missing.jpg"}, "annotations": [{"id": 1, "result": [
            {"id": "a", "type": "rectanglelabels",
             "value": {"x": 1, "y": 1, "width": 5, "height": 5, "rectanglelabels": ["can"]}}]}]},
        {"id": 2, "data": {"image": "photo.png"}, "annotations": [{"id": 2, "result": [
            {"id": "b", "type": "keypointlabels", "value": {"x": 1, "y": 1, "keypointlabels": ["can"]}},
            {"id": "c", "type": "rectanglelabels",
             "value": {"x": 120, "y": 10, "width": 5, "height": 5, "rectanglelabels": ["can"]}},
            {"id": "d", "type": "rectanglelabels",
             "value": {"x": 10, "y": 10, "width": 20, "height": 20, "rectanglelabels": ["can"]}}]}]},
    ]
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks))
    assert main(["extract", str(export), "-w", str(tmp_path / "ws")]) == 1
    err = capsys.readouterr().err
    assert "task 1" in err and "image file not found" in err
    assert "unsupported region type keypointlabels" in err
    assert "outside the image" in err
    assert len(Workspace.open(tmp_path / "ws").crop_ids()) == 1


def test_corrupt_image_is_skipped(tmp_path: Path, capsys) -> None:
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    export = tmp_path / "export.json"
    export.write_text(json.dumps([{"id": 1, "data": {"image": "broken.jpg"}, "annotations": [{"id": 1, "result": [
        {"id": "a", "type": "rectanglelabels",
         "value": {"x": 1, "y": 1, "width": 5, "height": 5, "rectanglelabels": ["can"]}}]}]}]))
    assert main(["extract", str(export), "-w", str(tmp_path / "ws")]) == 2
    assert "cannot read image" in capsys.readouterr().err


def test_proc_png_is_never_touched_by_a_rerun(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    args = ["extract", str(LABELSTUDIO / "polygons.json"), "-w", str(root), *LS_ARGS, "-q"]
    assert main(args) == 0
    ws = Workspace.open(root)
    crop_id = ws.crop_ids()[0]
    ws.proc_path(crop_id).write_bytes(b"user work")
    ws.raw_path(crop_id).unlink()  # even a crop that lost raw.png gets it back without losing proc.png
    assert main(args) == 0
    assert ws.proc_path(crop_id).read_bytes() == b"user work"
    assert ws.raw_path(crop_id).is_file()
