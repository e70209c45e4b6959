"""Perspective scale: the formula against hand-computed cases, priors, and the rendered height on a road photo."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from garbtui.core.compose import render_scene
from garbtui.core.compose.fragment import outline_cutout
from garbtui.core.compose.realism import REALISTIC
from garbtui.core.errors import InputError, WorkspaceError
from garbtui.core.scene.backgrounds import add_background
from garbtui.core.scene.perspective import (
    front_ground,
    k_for_object,
    k_from_prior,
    k_from_source,
    object_length_px,
    perspective_height,
    resolve_scale,
)
from garbtui.core.scene.size_priors import BUILTIN_PRIORS, SizePriors, load_size_priors
from garbtui.core.workspace.models import BackgroundMeta, CleanupRecipe, Placement, Scene
from garbtui.core.workspace.store import Workspace
from tests.conftest import PHOTOS, copy_sample, cut_out

SHARP = REALISTIC.updated(focus=0)  # no focus blur: the box is the fragment's own extent, to a pixel
ROAD = BackgroundMeta(id="road", file="image.jpg", width=1280, height=720, scene="road", horizon_row=300.0,
                      camera_height_m=1.5)


def _crop(ws_crop_meta, **changes):
    return ws_crop_meta.model_copy(update=changes)


@pytest.fixture(scope="module")
def ws(cut_ws: Workspace) -> Workspace:
    return cut_ws


@pytest.fixture(scope="module")
def can(ws: Workspace):
    crop_id = next(c for c in ws.crop_ids() if ws.load_crop_meta(c).label == "Drink can")
    return ws.load_crop_meta(crop_id)


def test_formula_hand_cases() -> None:
    assert perspective_height(0.05, 600, 400) == pytest.approx(10.0)
    assert perspective_height(0.1, 720, 420) == pytest.approx(30.0)
    assert perspective_height(0.1, 500, 500) == 0.0
    assert perspective_height(0.1, 450, 500) < 0
    # k = H_obj / H_cam; moving a source k to another camera height scales it by H_src / H_bg.
    assert k_from_prior(0.07, 1.4) == pytest.approx(0.05)
    assert k_from_source(0.04, 1.2, 1.6) == pytest.approx(0.03)
    assert k_from_source(0.04) == pytest.approx(0.04)  # both default to 1.5 m
    with pytest.raises(InputError):
        k_from_source(0.0, 1.5, 1.5)
    # An annotated object 30 px tall whose bottom sits 400 px below the horizon: k = 0.075.
    assert k_for_object(30, 700, 300) == pytest.approx(0.075)
    assert k_for_object(30, 300, 300) is None and k_for_object(30, 200, 300) is None


def test_resolve_scale_from_prior(can) -> None:
    crop = _crop(can, k=None)
    # Drink can prior 0.07 m, camera 1.5 m: k = 0.04667; at y = 600, 300 px below the horizon: 14 px.
    d = resolve_scale(Placement(crop_id=crop.id, x=100, y=600), crop, 100, ROAD, SizePriors())
    assert d.source == "prior"
    assert d.k == pytest.approx(0.07 / 1.5)
    assert d.target_height_px == pytest.approx(14.0)
    assert d.scale == pytest.approx(0.14)


def test_resolve_scale_from_source_k(can) -> None:
    crop = _crop(can, k=0.02)
    bg = ROAD.model_copy(update={"camera_height_m": 1.0})
    # Source k 0.02 taken at 1.5 m, background camera 1.0 m: k = 0.03; 200 px below the horizon: 6 px.
    d = resolve_scale(Placement(crop_id=crop.id, x=0, y=500), crop, 50, bg, SizePriors(), source_camera_height=1.5)
    assert d.source == "source-k"
    assert d.k == pytest.approx(0.03)
    assert d.target_height_px == pytest.approx(6.0)
    assert d.scale == pytest.approx(0.12)


def test_resolve_scale_manual_front_and_errors(can) -> None:
    d = resolve_scale(Placement(crop_id=can.id, x=0, y=0, scale=0.5), can, 100, ROAD, SizePriors())
    assert (d.scale, d.source) == (0.5, "manual")
    front = BackgroundMeta(id="f", file="image.jpg", width=1280, height=720, scene="front")
    d = resolve_scale(Placement(crop_id=can.id, x=0, y=360), can, 100, front, SizePriors())
    # Real size: the can's longest side becomes its length prior times the ground scale at the centre row.
    expected = 0.12 * front_ground(front).s_c / object_length_px(can)
    assert d.source == "front" and d.scale == pytest.approx(expected) and d.target_height_px == pytest.approx(100 * expected)
    with pytest.raises(InputError, match="above the horizon"):
        resolve_scale(Placement(crop_id=can.id, x=0, y=299), can, 100, ROAD, SizePriors(), index=3)
    no_horizon = ROAD.model_copy(update={"horizon_row": None})
    with pytest.raises(InputError, match="without a horizon"):
        resolve_scale(Placement(crop_id=can.id, x=0, y=600), can, 100, no_horizon, SizePriors())


def test_size_priors_lookup_and_workspace_file(tmp_path: Path) -> None:
    priors = SizePriors()
    assert priors.lookup("Drink can") == (0.07, "drink can")
    assert priors.lookup("crushed DRINK_can")[0] == 0.07
    assert priors.lookup("Plastic bottle cap")[1] == "plastic bottle cap"  # longest keyword wins over "bottle"
    assert priors.lookup("mystery object") == (priors.default, "default")
    taco = json.loads((PHOTOS / "annotations.json").read_text())["categories"]
    for cat in taco:
        assert priors.lookup(cat["name"])[1] != "default", cat["name"]
    assert all(0 < v <= 1 for v in BUILTIN_PRIORS.values() if v != 0.6)
    (tmp_path / "size_priors.json").write_text(json.dumps({"schema_version": 1, "default": 0.2,
                                                           "priors": {"Drink can": 0.1, "traffic cone": 0.5}}))
    custom = load_size_priors(tmp_path)
    assert custom.height_m("drink can") == 0.1
    assert custom.height_m("orange traffic cone") == 0.5
    assert custom.height_m("mystery object") == 0.2
    (tmp_path / "size_priors.json").write_text('{"priors": {"x": "big"}}')
    with pytest.raises(WorkspaceError, match="size_priors.json"):
        load_size_priors(tmp_path)


def test_rendered_height_follows_the_horizon(ws: Workspace, can) -> None:
    """auto scale on a road photo: the visible height in the render is k * (y - horizon), to a pixel."""
    bg = add_background(ws, PHOTOS / "clean" / "udacity_adv_straight_lines1.jpg", "road", horizon=420.0,
                        camera_height=1.5)
    heights = {}
    for y in (500.0, 600.0, 715.0):
        scene = Scene(id="persp", background_id=bg.id,
                      placements=[Placement(crop_id=can.id, x=640, y=y, blend="none", color_match=False)])
        obj = render_scene(ws, scene, realism=SHARP).objects[0]
        x0, y0, x1, y1 = obj.bbox
        heights[y] = y1 - y0
        assert y1 == round(y)  # the bottom of the object sits on the contact row
        assert abs((y1 - y0) - 0.07 / 1.5 * (y - 420.0)) <= 1.0
    assert heights[500.0] < heights[600.0] < heights[715.0]
    # A typed scale is honoured instead.
    scene = Scene(id="persp", background_id=bg.id,
                  placements=[Placement(crop_id=can.id, x=640, y=600, scale=0.5, blend="none")])
    obj = render_scene(ws, scene, realism=SHARP).objects[0]
    frag_h = int(np.ptp(np.flatnonzero((outline_cutout(ws, can.id)[:, :, 3] > 0).any(axis=1)))) + 1
    assert abs((obj.bbox[3] - obj.bbox[1]) - 0.5 * frag_h) <= 1.0


def test_a_source_horizon_gives_the_fragment_its_own_k(tmp_path) -> None:
    """Once the source photo's horizon is known, an `auto` placement follows the photo's own k, not the prior."""
    from garbtui.core.compose import render_scene
    from garbtui.core.compose.fragment import load_fragment
    from garbtui.core.workspace.models import Placement, Scene
    from garbtui.core.workspace.store import Workspace

    ws = Workspace.open(copy_sample(tmp_path / "ws"))
    crop = next(c for c in ws.crop_ids() if "drink-can" in c and ws.load_crop_meta(c).scene == "road")
    cut_out(ws, [crop], CleanupRecipe())
    meta = ws.load_crop_meta(crop)
    bg = next(b for b in ws.background_ids() if ws.load_background_meta(b).scene == "road")
    scene = Scene(id="s", background_id=bg, placements=[Placement(crop_id=crop, x=500, y=600)])
    assert render_scene(ws, scene).objects[0].scale.source == "prior"
    horizon = meta.region.bbox.y0 - 3 * meta.region.bbox.height  # the photo's horizon, typed by a user
    ws.update_image_meta(meta.image_id, lambda m: setattr(m, "horizon_row", horizon))
    frag = load_fragment(ws, crop)
    expected_k = meta.region.bbox.height / (meta.region.bbox.y1 - horizon)
    assert frag.meta.k == pytest.approx(expected_k)
    obj = render_scene(ws, scene).objects[0]
    assert obj.scale.source == "source-k"
    bg_meta = ws.load_background_meta(bg)
    assert obj.bbox[3] - obj.bbox[1] == pytest.approx(expected_k * (600 - bg_meta.horizon_row), abs=2)
