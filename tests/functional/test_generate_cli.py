"""`garbtui generate` / `garbtui recreate` end to end: determinism, resume after SIGKILL, loadable datasets."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from garbtui.cli import main
from garbtui.core.scene.backgrounds import add_background
from garbtui.core.workspace.store import Workspace
from tests.conftest import PHOTOS, REPO, copy_sample, cut_out
from tests.helpers.labelstudio_check import LabelConfig

ARGS = ["--seed", "11", "--size", "320x240", "--per-image", "2-5", "--val-fraction", "0.25", "-q"]


def make_workspace(root: Path) -> Workspace:
    """The sample workspace, cut out along its TACO polygons, plus a close road photo and a dirt close-up."""
    ws = cut_out(Workspace.open(copy_sample(root)))
    clean = PHOTOS / "clean"
    add_background(ws, clean / "taco_b2_000018_crop.jpg", "road", horizon=0, bg_id="kerb")
    add_background(ws, clean / "taco_b3_IMG_4972_crop.jpg", "front", bg_id="dirt")
    return ws


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return make_workspace(tmp_path_factory.mktemp("gen_cli") / "ws")


@pytest.fixture(scope="module")
def reference(ws: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted run of 12 scenes, one process."""
    out = tmp_path_factory.mktemp("gen_ref") / "out"
    assert main(["generate", "-w", str(ws.root), "--count", "12", "--out", str(out), "--workers", "1", *ARGS]) == 0
    return out


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root (relative path -> bytes), the run manifest included; the folder's own absolute
    path (in data.yaml's `path:` and the Label Studio image URLs) reads as <ROOT>, so two folders compare."""
    here = str(root.resolve()).lstrip("/").encode()
    return {str(p.relative_to(root)): p.read_bytes().replace(here, b"<ROOT>")
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_the_same_bytes_whatever_the_workers(ws: Workspace, reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "again"
    assert main(["generate", "-w", str(ws.root), "--count", "12", "--out", str(out), "--workers", "2", *ARGS]) == 0
    ref = tree(reference)
    assert len([k for k in ref if k.startswith("images/")]) == 12
    assert tree(out) == ref
    # Another seed gives other images.
    other = tmp_path / "other"
    args = [a if a != "11" else "12" for a in ARGS]
    assert main(["generate", "-w", str(ws.root), "--count", "12", "--out", str(other), "--workers", "1", *args]) == 0
    images = {k.rsplit("/", 1)[1]: v for k, v in ref.items() if k.startswith("images/")}
    others = {k.rsplit("/", 1)[1]: v for k, v in tree(other).items() if k.startswith("images/")}
    assert images["000000.jpg"] != others["000000.jpg"] or images["000001.jpg"] != others["000001.jpg"]


def test_layout_loads_with_pycocotools_and_yolo_equals_coco(reference: Path) -> None:
    coco = COCO(str(reference / "coco.json"))
    names = [c["name"] for c in coco.loadCats(coco.getCatIds())]
    classes = (reference / "classes.txt").read_text().splitlines()
    assert names == classes
    yaml_text = (reference / "data.yaml").read_text()
    for i, name in enumerate(classes):
        assert f"  {i}: {json.dumps(name)}" in yaml_text
    assert f"path: {json.dumps(str(reference.resolve()))}" in yaml_text
    assert 'train: "images/train"' in yaml_text and 'val: "images/val"' in yaml_text
    listed = {split: sorted(p.name for p in (reference / "images" / split).iterdir()) for split in ("train", "val")}
    assert len(listed["train"]) + len(listed["val"]) == 12 and len(listed["val"]) == 3
    assert not set(listed["train"]) & set(listed["val"])
    assert len(coco.getAnnIds()) > 10
    for img in coco.loadImgs(coco.getImgIds()):
        w, h = img["width"], img["height"]
        assert (w, h) == (320, 240)
        assert img["file_name"] == f"images/{img['split']}/{Path(img['file_name']).name}"
        stem = Path(img["file_name"]).stem
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img["id"]))
        seg = (reference / "labels" / img["split"] / f"{stem}.txt").read_text().splitlines()
        det = (reference / "labels-detect" / img["split"] / f"{stem}.txt").read_text().splitlines()
        assert len(seg) == len(det) == len(anns)  # one object, one entry, in every format
        for ann, s_line, d_line in zip(anns, seg, det, strict=True):
            x, y, bw, bh = ann["bbox"]
            assert x >= 0 and y >= 0 and x + bw <= w and y + bh <= h
            assert max(bw, bh) >= 8  # the visible box of every labelled object is at least 8 px
            m = coco.annToMask(ann)
            ys, xs = np.nonzero(m)
            assert [xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()] == [x, y, bw, bh]
            assert m.sum() == ann["area"]
            cls, cx, cy, nw, nh = d_line.split()
            assert classes[int(cls)] == coco.loadCats(ann["category_id"])[0]["name"]
            assert float(cx) == pytest.approx((x + bw / 2) / w, abs=1e-6)
            assert float(nw) == pytest.approx(bw / w, abs=1e-6) and float(nh) == pytest.approx(bh / h, abs=1e-6)
            parts = s_line.split()
            assert parts[0] == cls
            pts = np.array(parts[1:], float).reshape(-1, 2) * [w, h]
            assert pts.min(axis=0) == pytest.approx([x, y], abs=1e-3)  # outline extent = box
            assert pts.max(axis=0) == pytest.approx([x + bw, y + bh], abs=1e-3)
    tasks = json.loads((reference / "labelstudio" / "tasks.json").read_text())
    assert len(tasks) == 12
    boxes = sum(1 for t in tasks for r in t["predictions"][0]["result"] if r["type"] == "rectanglelabels")
    outlines = sum(1 for t in tasks for r in t["predictions"][0]["result"] if r["type"] == "polygonlabels")
    assert boxes == outlines == len(coco.getAnnIds())
    assert tasks[0]["data"]["image"] == "/data/local-files/?d=" + str(reference.resolve()).lstrip("/") + \
        "/" + coco.loadImgs(1)[0]["file_name"]
    config = LabelConfig((reference / "labelstudio" / "config.xml").read_text())
    for t in tasks:
        assert config.errors(t["predictions"][0]) == []
    summary = json.loads((reference / "summary.json").read_text())
    assert summary["objects"] == len(coco.getAnnIds())
    assert sum(c["total"] for c in summary["classes"].values()) == summary["objects"]
    assert sum(summary["object_sizes"]["objects"]) == summary["objects"]
    # Split COCO files partition the images, under COCO's own names.
    parts = [COCO(str(reference / "annotations" / f"instances_{s}.json")) for s in ("train", "val")]
    assert [len(p.getImgIds()) for p in parts] == [9, 3]
    assert sum(len(p.getAnnIds()) for p in parts) == len(coco.getAnnIds())


def test_a_recipe_rerenders_its_image(ws: Workspace, reference: Path) -> None:
    from garbtui.core.generate.recipe import ImageRecord
    from garbtui.core.generate.render import render_recipe
    from garbtui.core.workspace.atomic import encode_jpeg

    rec = ImageRecord.load(reference / "recipes" / "000003.json")
    image = render_recipe(ws, rec.recipe).image
    assert encode_jpeg(image, rec.recipe.jpeg_quality) == (reference / rec.image_file).read_bytes()
    for obj in rec.objects:
        assert mask_utils.area(obj.rle) == obj.area


def _generate_cmd(ws: Workspace, out: Path, count: int) -> list[str]:
    return [sys.executable, "-m", "garbtui.cli", "generate", "-w", str(ws.root), "--count", str(count),
            "--out", str(out), "--workers", "2", *ARGS]


def test_resume_after_sigkill_redoes_nothing_and_ends_byte_identical(ws: Workspace, tmp_path: Path) -> None:
    count = 30  # long enough that the kill surely lands mid-run
    whole = tmp_path / "whole"
    assert main(["generate", "-w", str(ws.root), "--count", str(count), "--out", str(whole), "--workers", "1",
                 *ARGS]) == 0
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(_generate_cmd(ws, out, count), env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    recipes = out / "recipes"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if recipes.is_dir() and len(list(recipes.glob("*.json"))) >= 3:
            break
        time.sleep(0.002)
    os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its worker processes, mid-run
    proc.wait()
    kept = {p.name: p.stat().st_mtime_ns for p in recipes.glob("*.json")}
    assert 3 <= len(kept) < count, "the run must be killed halfway"
    assert not (out / "coco.json").exists()
    rc = subprocess.run(_generate_cmd(ws, out, count), env=env, capture_output=True, text=True)
    assert rc.returncode == 0, rc.stderr
    # Committed images were not redone; nothing is duplicated; the result is the uninterrupted run's.
    assert {p.name: p.stat().st_mtime_ns for p in recipes.glob("*.json") if p.name in kept} == kept
    assert tree(out) == tree(whole)
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_more_images_extend_a_run_and_other_settings_are_refused(ws: Workspace, reference: Path,
                                                                  tmp_path: Path, capsys) -> None:
    out = tmp_path / "grow"
    shutil.copytree(reference, out)
    assert main(["generate", "-w", str(ws.root), "--count", "14", "--out", str(out), "--workers", "1", *ARGS]) == 0
    grown = tree(out)
    ref = tree(reference)
    assert all(grown[k] == ref[k] for k in ref if k.startswith(("images/", "labels/", "recipes/")))
    assert "recipes/000013.json" in grown
    args = [a if a != "2-5" else "1-3" for a in ARGS]
    rc = main(["generate", "-w", str(ws.root), "--count", "12", "--out", str(out), *args])
    assert rc == 2
    assert "other settings" in capsys.readouterr().err


def test_bad_arguments_are_clear_errors(ws: Workspace, tmp_path: Path, capsys) -> None:
    assert main(["generate", "-w", str(ws.root), "--count", "0", "--out", str(tmp_path / "o"), "-q"]) == 2
    assert "must be at least 1, got 0" in capsys.readouterr().err  # core says field "count"; the CLI names the flag
    assert main(["generate", "-w", str(ws.root), "--count", "2", "--out", str(ws.root / "inside"), "-q"]) == 2
    with pytest.raises(SystemExit):
        main(["generate", "-w", str(ws.root), "--count", "2", "--out", str(tmp_path / "o"), "--size", "big"])
    empty = Workspace.create(tmp_path / "empty")
    assert main(["generate", "-w", str(empty.root), "--count", "2", "--out", str(tmp_path / "o2"), "-q"]) == 2
    assert "no cleaned fragments" in capsys.readouterr().err


def test_blend_all_renders_each_scene_in_three_modes(ws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "all"
    assert main(["generate", "-w", str(ws.root), "--count", "2", "--out", str(out), "--workers", "1",
                 "--blend", "all", "--size", "160x120", "--val-fraction", "0", "-q"]) == 0
    names = sorted(p.stem for p in (out / "images" / "train").glob("*.jpg"))
    assert names == sorted(f"00000{i}-{m}" for i in range(2) for m in ("none", "feather", "poisson"))
    recs = [json.loads((out / "recipes" / f"000001-{m}.json").read_text())["recipe"] for m in ("none", "feather", "poisson")]
    assert all([p["blend"] for p in r["placements"]] == [m] * len(r["placements"])
               for r, m in zip(recs, ("none", "feather", "poisson"), strict=True))
    assert len({json.dumps([(p["x"], p["y"], p["crop_id"]) for p in r["placements"]]) for r in recs}) == 1
    assert 'val: "images/train"' in (out / "data.yaml").read_text()  # no val split: Ultralytics validates on train


def test_recreate_command_saves_and_renders_a_scene(ws: Workspace, capsys) -> None:
    rc = main(["recreate", "-w", str(ws.root), "--reference", "taco_b1_000032-fe56b9e15f", "--onto", "dirt",
               "--other-fragments", "--id", "rec1"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "substituted 'Plastic bottle cap'" in out
    folder = ws.scene_dir("rec1")
    assert (folder / "scene.json").is_file() and (folder / "render.jpg").is_file()
    coco = json.loads((folder / "labels" / "coco.json").read_text())
    assert len(coco["annotations"]) == 2


def test_label_studio_round_trip_gives_one_crop_per_object(reference: Path, tmp_path: Path, capsys) -> None:
    """The tasks imported into Label Studio and exported again (predictions kept) extract to one crop per object:
    each object's box and outline pair up (same extent), however many parts occlusion cut it into."""
    coco = json.loads((reference / "coco.json").read_text())
    rc = main(["extract", str(reference / "labelstudio" / "tasks.json"), "-w", str(tmp_path / "back"), "--predictions",
               "--config", str(reference / "labelstudio" / "config.xml"), "--local-files-root", "/", "-q"])
    assert rc == 0, capsys.readouterr().err
    back = Workspace.open(tmp_path / "back")
    labels = sorted(back.load_crop_meta(c).label for c in back.crop_ids())
    names = {c["id"]: c["name"] for c in coco["categories"]}
    assert labels == sorted(names[a["category_id"]] for a in coco["annotations"])
