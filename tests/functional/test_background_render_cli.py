"""CLI end to end: `garbtui background add/list/horizon` and `garbtui render`, with their exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO

from garbtui.cli import main
from garbtui.core.workspace.models import BackgroundMeta, Placement, Scene
from garbtui.core.workspace.store import Workspace
from tests.conftest import PHOTOS, REPO, SAMPLE_DATA, copy_sample, cut_out

HIGHWAY = PHOTOS / "clean" / "udacity_adv_straight_lines1.jpg"


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    root = tmp_path / "ws"
    copy_sample(root)
    for sub in ("backgrounds", "scenes"):  # start from the crops only: these tests add their own
        shutil.rmtree(root / sub, ignore_errors=True)
    ws = Workspace.open(root)
    cut_out(ws, ws.crop_ids()[:4])
    return ws


def _meta(ws: Workspace, bg_id: str) -> BackgroundMeta:
    return ws.load_background_meta(bg_id)


def test_background_add_estimates_or_takes_the_horizon(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["background", "add", str(HIGHWAY), "-w", str(ws.root), "--scene", "road"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("added ") and "(estimated, confidence" in out
    (bg_id,) = ws.background_ids()
    meta = _meta(ws, bg_id)
    assert meta.horizon_estimated and abs(meta.horizon_row - 423) <= 0.03 * 720
    assert (ws.background_dir(bg_id) / "image.jpg").read_bytes() == HIGHWAY.read_bytes()
    # Typed horizon and camera height, under a chosen id: not estimated.
    code = main(["background", "add", str(HIGHWAY), "-w", str(ws.root), "--scene", "road", "--horizon", "400",
                 "--camera-height", "1.2", "--id", "hw-typed"])
    assert code == 0
    meta = _meta(ws, "hw-typed")
    assert (meta.horizon_row, meta.horizon_estimated, meta.camera_height_m) == (400.0, False, 1.2)
    assert meta.placement.y_min is not None and meta.placement.y_min > 400
    assert main(["background", "horizon", "hw-typed", "410", "-w", str(ws.root)]) == 0
    assert _meta(ws, "hw-typed").horizon_row == 410.0
    # Front photos, and a road photo with no lines: a warning says so and what happens instead (placed by
    # its surfaces), exit 0 since the grass is all ground. A photo with no ground at all is exit 1.
    assert main(["background", "add", str(PHOTOS / "clean" / "taco_b2_000044_crop_paving.jpg"), "-w", str(ws.root),
                 "--scene", "front"]) == 0
    capsys.readouterr()
    assert main(["background", "add", str(PHOTOS / "clean" / "skimage_grass.png"), "-w", str(ws.root),
                 "--scene", "road"]) == 0
    out = capsys.readouterr()
    assert "no horizon found" in out.err and "placed by the photo's surfaces" in out.err
    assert "surfaces: 100% ground (automatic estimate)" in out.out
    rows = np.linspace(0, 1, 240)[:, None]  # a plain evening sky: nothing to put litter on
    sky = np.dstack([np.broadcast_to(200 - 60 * rows, (240, 320))] * 3).astype(np.uint8)
    sky[..., 0] = 240 - 60 * rows
    cv2.imwrite(str(ws.root.parent / "sky.png"), sky)
    assert main(["background", "add", str(ws.root.parent / "sky.png"), "-w", str(ws.root), "--scene", "road"]) == 1
    assert "no ground found" in capsys.readouterr().err
    assert main(["background", "list", "-w", str(ws.root)]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert len(listing) == 5 and any("hw-typed  road  1280x720  horizon row 410" in line for line in listing)


def test_background_add_bad_input(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(ws.root)
    assert main(["background", "add", "/nonexistent.jpg", "-w", root, "--scene", "road"]) == 2
    assert "photo not found" in capsys.readouterr().err
    assert main(["background", "add", str(HIGHWAY), "-w", root, "--scene", "road", "--horizon", "9999"]) == 2
    assert "outside the image" in capsys.readouterr().err
    assert main(["background", "add", str(SAMPLE_DATA / "SOURCES.md"), "-w", root, "--scene", "front"]) == 2
    assert main(["background", "horizon", "ghost", "10", "-w", root]) == 2
    assert main(["background", "add", str(HIGHWAY), "-w", root, "--scene", "front", "--id", "x"]) == 0
    # The same id with another photo is refused: backgrounds are never silently replaced.
    assert main(["background", "add", str(PHOTOS / "clean" / "udacity_adv_test5.jpg"), "-w", root,
                 "--scene", "front", "--id", "x"]) == 3
    assert ws.background_ids() == ["x"]


def _scene(ws: Workspace, bg_id: str, **kw) -> Scene:
    crops = ws.crop_ids()[:4]
    placements = [Placement(crop_id=c, x=300 + 200 * i, y=600 + 30 * i, blend=b)
                  for i, (c, b) in enumerate(zip(crops, ["none", "feather", "poisson", "feather"], strict=True))]
    return Scene(id="cli", background_id=bg_id, placements=placements, **kw)


def test_render_end_to_end(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["background", "add", str(HIGHWAY), "-w", str(ws.root), "--scene", "road", "--horizon", "423",
                 "--id", "hw"]) == 0
    scene = _scene(ws, "hw")
    ws.save_scene(scene)
    folder = ws.scene_dir("cli")
    capsys.readouterr()
    assert main(["render", str(folder)]) == 0  # workspace inferred from scenes/<id>/
    out = capsys.readouterr().out
    assert "4 object(s) labelled" in out and "(prior)" in out
    first = (folder / "render.jpg").read_bytes()
    coco = COCO(str(folder / "labels" / "coco.json"))
    assert len(coco.getAnnIds()) == 4
    capsys.readouterr()
    assert main(["render", str(folder / "scene.json"), "-q"]) == 0
    assert capsys.readouterr().out == ""
    assert (folder / "render.jpg").read_bytes() == first
    # A scene file outside the workspace needs -w, and is then saved into scenes/<id>/.
    outside = ws.root.parent / "elsewhere.json"
    outside.write_text(_scene(ws, "hw", note="moved").model_dump_json())
    assert main(["render", str(outside)]) == 2
    assert "pass -w" in capsys.readouterr().err
    assert main(["render", str(outside), "-w", str(ws.root)]) == 0
    assert ws.load_scene("cli").note == "moved"


def test_render_errors_and_strict(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    main(["background", "add", str(HIGHWAY), "-w", str(ws.root), "--scene", "road", "--horizon", "423", "--id", "hw"])
    scene = _scene(ws, "hw")
    bad = scene.model_copy(update={"placements": scene.placements[:1] + [Placement(crop_id=scene.placements[1].crop_id,
                                                                                  x=640, y=428, scale=0.2)]})
    ws.save_scene(bad)
    folder = ws.scene_dir("cli")
    capsys.readouterr()
    assert main(["render", str(folder), "--strict"]) == 2  # y=428 is above the band that starts below the horizon
    assert "placement 2" in capsys.readouterr().err and not (folder / "render.jpg").exists()  # numbered from 1
    assert main(["render", str(folder)]) == 0  # without --strict: rendered, and the flag is printed
    assert "warning: placement 2" in capsys.readouterr().err
    above = scene.model_copy(update={"placements": [scene.placements[0].model_copy(update={"y": 300.0})]})
    ws.save_scene(above)
    assert main(["render", str(folder)]) == 2
    assert "above the horizon" in capsys.readouterr().err
    ghost = scene.model_copy(update={"placements": [Placement(crop_id="no-such-crop", x=10, y=700)]})
    ws.save_scene(ghost)
    assert main(["render", str(folder)]) == 2
    (folder / "scene.json").write_text("{not json")
    assert main(["render", str(folder)]) == 3
    assert "invalid JSON" in capsys.readouterr().err
    assert main(["render", str(ws.root / "scenes" / "missing")]) == 2


def test_python_m_entry_point(ws: Workspace) -> None:
    main(["background", "add", str(HIGHWAY), "-w", str(ws.root), "--scene", "road", "--horizon", "423", "--id", "hw"])
    ws.save_scene(_scene(ws, "hw"))
    assert main(["render", str(ws.scene_dir("cli")), "-q"]) == 0
    here = {p.name: p.read_bytes() for p in ws.scene_dir("cli").rglob("*") if p.is_file()}
    proc = subprocess.run([sys.executable, "-m", "garbtui", "render", str(ws.scene_dir("cli"))],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    there = {p.name: p.read_bytes() for p in ws.scene_dir("cli").rglob("*") if p.is_file()}
    assert there == here  # another process, the same bytes
    assert json.loads((ws.scene_dir("cli") / "labels" / "labelstudio.json").read_text())[0]["predictions"]


def test_background_add_applies_exif_orientation_and_alpha(ws: Workspace, shared_dir: Path) -> None:
    photos = shared_dir / "labelstudio" / "files" / "photos"
    assert main(["background", "add", str(photos / "rotated_exif6.jpg"), str(photos / "alpha_scene.png"),
                 "-w", str(ws.root), "--scene", "front"]) == 0
    from garbtui.core.workspace.imageio import read_rgb

    metas = {m.source_path.rsplit("/", 1)[-1]: m for m in (ws.load_background_meta(b) for b in ws.background_ids())}
    turned = metas["rotated_exif6.jpg"]
    assert (turned.width, turned.height, turned.file) == (800, 1200, "image.png")  # stored upright
    assert read_rgb(ws.background_path(turned.id)).shape == (1200, 800, 3)
    scene = Scene(id="exif", background_id=turned.id,
                  placements=[Placement(crop_id=ws.crop_ids()[0], x=400, y=1100, blend="feather")])
    ws.save_scene(scene)
    assert main(["render", str(ws.scene_dir("exif")), "-q"]) == 0
    assert read_rgb(ws.scene_dir("exif") / "render.jpg").shape == (1200, 800, 3)
