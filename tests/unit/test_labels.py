"""Label files of a render: COCO (read back with pycocotools), YOLO detect/segment and Label Studio agree."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from garbtui.core.compose import render_scene
from garbtui.core.export.labels import merge_parts, workspace_categories, write_scene_labels
from garbtui.core.export.objects import corner_outlines, label_mask
from garbtui.core.export.scene_files import save_and_render
from garbtui.core.scene.backgrounds import add_background
from garbtui.core.workspace.models import Placement, Scene
from garbtui.core.workspace.store import Workspace
from tests.conftest import LABELSTUDIO, PHOTOS, copy_sample, cut_out
from tests.helpers.labelstudio_check import LabelConfig


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory):
    """A road scene: five fragments, one hidden under another (dropped), one clipped at the right border."""
    ws = cut_out(Workspace.open(copy_sample(tmp_path_factory.mktemp("labels") / "ws")))
    by_label = {ws.load_crop_meta(c).label: c for c in ws.crop_ids()}
    bg = add_background(ws, PHOTOS / "clean" / "udacity_adv_straight_lines1.jpg", "road", horizon=423.0)
    scene = Scene(id="lab", background_id=bg.id, occlusion_drop=0.6, placements=[
        Placement(crop_id=by_label["Plastic bottle cap"], x=400, y=650, scale=1.0, blend="none"),
        Placement(crop_id=by_label["Crisp packet"], x=400, y=680, scale=1.0, blend="feather"),  # hides the cap
        Placement(crop_id=by_label["Drink can"], x=700, y=600, scale=0.6, blend="poisson", rotation=30),
        Placement(crop_id=by_label["Paper cup"], x=1270, y=700, scale=0.9, blend="feather", shadow=True),
        Placement(crop_id=by_label["Clear plastic bottle"], x=900, y=560, scale=0.5, blend="feather", flip=True),
    ])
    result = save_and_render(ws, scene)
    return ws, scene, result, ws.scene_dir("lab") / "labels"


def test_render_as_expected(rendered) -> None:
    _, _, result, _ = rendered
    assert result.objects[0].dropped and not any(o.dropped for o in result.objects[1:])
    assert result.objects[3].clipped and result.objects[3].bbox[2] == 1280


def test_coco_reads_back_with_pycocotools(rendered) -> None:
    ws, _, result, labels = rendered
    coco = COCO(str(labels / "coco.json"))
    img = coco.loadImgs(1)[0]
    assert (img["file_name"], img["width"], img["height"]) == ("render.jpg", 1280, 720)
    cats = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
    assert list(cats.values()) == workspace_categories(ws)
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[1]))
    kept = result.kept
    assert len(anns) == len(kept) == 4
    for ann, obj in zip(anns, kept, strict=True):
        m = coco.annToMask(ann).astype(bool)
        assert (m == label_mask(obj.mask)).all()  # the visible mask less specks under 9 pixels
        assert ann["area"] == int(m.sum())
        assert list(mask_utils.toBbox(ann["segmentation"])) == ann["bbox"]  # box = extent of the RLE mask
        assert cats[ann["category_id"]] == obj.label
        assert ann["attributes"]["crop_id"] == obj.crop_id


def test_yolo_detect_and_segment_match_coco(rendered) -> None:
    _, _, result, labels = rendered
    coco = COCO(str(labels / "coco.json"))
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[1]))
    classes = (labels / "yolo" / "classes.txt").read_text().splitlines()
    det = (labels / "yolo" / "detect" / "render.txt").read_text().splitlines()
    seg = (labels / "yolo" / "segment" / "render.txt").read_text().splitlines()
    assert len(det) == len(seg) == len(result.kept) == len(anns)  # one object, one line
    for d, s, obj, ann in zip(det, seg, result.kept, anns, strict=True):
        cls, cx, cy, w, h = d.split()
        assert classes[int(cls)] == obj.label
        x, y, bw, bh = ann["bbox"]
        assert float(cx) * 1280 == pytest.approx(x + bw / 2, abs=1e-3)
        assert float(cy) * 720 == pytest.approx(y + bh / 2, abs=1e-3)
        assert float(w) * 1280 == pytest.approx(bw, abs=1e-3)
        assert float(h) * 720 == pytest.approx(bh, abs=1e-3)
        parts = s.split()
        assert parts[0] == cls and len(parts) % 2 == 1 and len(parts) >= 7
        pts = np.array(parts[1:], float).reshape(-1, 2) * [1280, 720]
        # The outline's extent is the box, to the pixel (as Ultralytics' detect task reads a segment line).
        assert pts.min(axis=0) == pytest.approx([x, y], abs=1e-3)
        assert pts.max(axis=0) == pytest.approx([x + bw, y + bh], abs=1e-3)
        # Filled as COCO fills polygons, the outline gives back the mask (holes filled).
        rle = mask_utils.frPyObjects([np.round(pts, 3).ravel().tolist()], 720, 1280)
        filled = mask_utils.decode(mask_utils.merge(rle)).astype(bool)
        m = np.ascontiguousarray(coco.annToMask(ann), dtype=np.uint8)
        contours, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        solid = np.zeros_like(m)
        cv2.drawContours(solid, contours, -1, 1, thickness=-1)
        solid = solid.astype(bool)
        assert (filled == solid).all(), f"{obj.label}: outline and mask disagree"


def test_labelstudio_predictions_match_boxes(rendered) -> None:
    _, _, result, labels = rendered
    tasks = json.loads((labels / "labelstudio.json").read_text())
    assert len(tasks) == 1 and tasks[0]["data"]["image"] == "/data/local-files/?d=scenes/lab/render.jpg"
    regions = tasks[0]["predictions"][0]["result"]
    rects = [r for r in regions if r["type"] == "rectanglelabels"]
    polys = [r for r in regions if r["type"] == "polygonlabels"]
    assert len(rects) == len(polys) == len(result.kept)  # one box and one outline per object
    assert len({r["id"] for r in regions}) == len(regions)
    for r, obj in zip(rects, result.kept, strict=True):
        v = r["value"]
        x0, y0, x1, y1 = obj.bbox
        assert (r["from_name"], r["to_name"]) == ("box", "image")
        assert v["rectanglelabels"] == [obj.label]
        assert v["x"] * 1280 / 100 == pytest.approx(x0) and v["width"] * 1280 / 100 == pytest.approx(x1 - x0)
        assert v["y"] * 720 / 100 == pytest.approx(y0) and v["height"] * 720 / 100 == pytest.approx(y1 - y0)
    for p in polys:
        assert all(0 <= x <= 100 and 0 <= y <= 100 for x, y in p["value"]["points"])
    # Valid predictions for the TACO project's labeling config, by the checks that give label-studio-sdk's
    # verdicts (tests/unit/test_labelstudio_reference.py).
    config = LabelConfig((LABELSTUDIO / "taco_sample.config.xml").read_text())
    assert config.errors(tasks[0]["predictions"][0]) == []
    bogus = json.loads(json.dumps(tasks[0]["predictions"][0]))
    bogus["result"][0]["value"]["rectanglelabels"] = ["Not a label"]
    assert config.errors(bogus)


def test_categories_order_is_honoured(rendered, tmp_path: Path) -> None:
    _, _, result, _ = rendered
    files = write_scene_labels(result, tmp_path, "x.png", ["Paper cup", "Drink can"])
    classes = files.yolo_classes.read_text().splitlines()
    assert classes[:2] == ["Paper cup", "Drink can"]  # given order first, missing labels appended, sorted
    assert classes[2:] == sorted({o.label for o in result.kept} - {"Paper cup", "Drink can"})
    assert files.yolo_detect.name == "x.txt"


def test_polygon_helpers() -> None:
    mask = np.zeros((40, 60), bool)
    mask[5:15, 5:15] = True
    mask[20:35, 30:50] = True
    parts = corner_outlines(mask, (100, 200))
    assert len(parts) == 2
    assert sorted(parts[0]) == sorted([(130, 220), (150, 220), (150, 235), (130, 235)])  # largest first, pixel corners
    assert sorted(parts[1]) == sorted([(105, 205), (115, 205), (115, 215), (105, 215)])
    merged = merge_parts(parts)
    assert len(merged) == len(parts[0]) + len(parts[1]) + 2
    assert corner_outlines(np.zeros((4, 4), bool)) == []


def test_specks_leave_box_mask_and_outline_together() -> None:
    mask = np.zeros((30, 30), bool)
    mask[5:20, 5:20] = True
    mask[25:27, 25:26] = True  # a 2-pixel speck left beside a later paste
    clean = label_mask(mask)
    assert clean[5:20, 5:20].all() and not clean[25:27, 25].any()
    big = mask.copy()
    big[25:28, 25:28] = True  # 9 pixels: a part, kept in mask and outlines alike
    assert label_mask(big)[25:28, 25:28].all() and len(corner_outlines(label_mask(big))) == 2


def test_empty_scene_writes_empty_labels(rendered, tmp_path: Path) -> None:
    ws, scene, _, _ = rendered
    empty = render_scene(ws, scene.model_copy(update={"placements": []}))
    files = write_scene_labels(empty, tmp_path, "render.jpg", ["Drink can"])
    assert json.loads(files.coco.read_text())["annotations"] == []
    assert files.yolo_detect.read_text() == "" and files.yolo_segment.read_text() == ""
