"""Recreate: a reference photo's objects come back with the same count, labels and relative layout."""

from __future__ import annotations

from collections import Counter

import pytest

from garbtui.core.compose import render_scene
from garbtui.core.errors import InputError
from garbtui.core.recreate import recreate_scene, reference_objects
from garbtui.core.scene.backgrounds import add_background
from garbtui.core.scene.size_priors import SizePriors
from garbtui.core.scene.taxonomy import nearest_label, supercategory
from garbtui.core.workspace.store import Workspace
from tests.conftest import PHOTOS

CANS = "taco_b1_000111-1c27bb7938"  # road photo: two drink cans and a food container
CAN_AND_TAB = "taco_b1_000032-fe56b9e15f"  # front photo: a drink can and its pop tab
HIGHWAY_HORIZON = 422.0


@pytest.fixture(scope="module")
def ws(cut_ws: Workspace) -> Workspace:
    """The sample workspace, every crop cut out along its TACO polygon, with a front and a road background."""
    ws = cut_ws
    clean = PHOTOS / "clean"
    add_background(ws, clean / "taco_b2_000044_crop_paving.jpg", "front", bg_id="paving")
    add_background(ws, clean / "udacity_adv_straight_lines1.jpg", "road", horizon=HIGHWAY_HORIZON, bg_id="highway")
    return ws


def test_front_recreation_keeps_count_labels_and_relative_layout(ws: Workspace) -> None:
    refs = reference_objects(ws, CANS)
    ref_meta = ws.load_image_meta(CANS)
    bg = ws.load_background_meta("paving")
    scene, notes = recreate_scene(ws, CANS, "paving")
    assert any("layout: relative" in n for n in notes)
    result = render_scene(ws, scene)
    assert len(result.kept) == len(refs) == 3
    assert Counter(o.label for o in result.kept) == Counter(r.label for r in refs)
    by_crop = {r.crop_id: r for r in refs}
    for obj in result.kept:
        ref = by_crop[obj.crop_id]  # each object is its own cleaned crop
        x0, y0, x1, y1 = obj.bbox
        assert (x0 + x1) / 2 / bg.width == pytest.approx(ref.cx / ref_meta.width, abs=0.01)
        assert y1 / bg.height == pytest.approx(ref.y1 / ref_meta.height, abs=0.01)
        # Size relative to the image diagonal: same fraction of the picture as in the reference.
        ratio = ((x1 - x0) * (y1 - y0)) ** 0.5 / (ref.width * ref.height) ** 0.5
        expected = (bg.width ** 2 + bg.height ** 2) ** 0.5 / (ref_meta.width ** 2 + ref_meta.height ** 2) ** 0.5
        assert ratio == pytest.approx(expected, rel=0.1)
    # Left-right and top-bottom order of the objects is the reference's.
    order_ref = sorted(refs, key=lambda r: r.cx)
    order_out = sorted(result.kept, key=lambda o: o.bbox[0] + o.bbox[2])
    assert [r.crop_id for r in order_ref] == [o.crop_id for o in order_out]


def test_missing_label_is_substituted_by_the_nearest_class_and_said(ws: Workspace) -> None:
    scene, notes = recreate_scene(ws, CAN_AND_TAB, "paving", use_own=False)
    labels = sorted(ws.load_crop_meta(p.crop_id).label for p in scene.placements)
    # The only pop tab is the reference's own: it becomes the nearest class, a bottle cap (1-2 cm objects).
    assert labels == ["Drink can", "Plastic bottle cap"]
    assert all(ws.load_crop_meta(p.crop_id).image_id != CAN_AND_TAB for p in scene.placements)
    assert any("'Pop tab'" in n and "'Plastic bottle cap'" in n for n in notes)
    # Same seed, same scene; the scene renders with both objects labelled.
    again, _ = recreate_scene(ws, CAN_AND_TAB, "paving", use_own=False)
    assert again == scene
    assert len(render_scene(ws, scene).kept) == 2


def test_road_reference_with_horizon_keeps_depth_and_perspective(ws: Workspace) -> None:
    meta = ws.load_image_meta(CANS)
    meta.horizon_row = 150.0  # as if the user had typed it: the cans lie 750-880 px below it
    ws.save_image_meta(meta)
    try:
        scene, notes = recreate_scene(ws, CANS, "highway")
    finally:
        meta.horizon_row = None
        ws.save_image_meta(meta)
    assert any("layout: perspective" in n for n in notes)
    bg = ws.load_background_meta("highway")
    refs = {r.crop_id: r for r in reference_objects(ws, CANS)}
    result = render_scene(ws, scene)
    assert len(result.kept) == 3
    for p, obj in zip(scene.placements, result.objects, strict=True):
        ref = refs[p.crop_id]
        depth_ref = (ref.y1 - 150.0) / (meta.height - 150.0)
        # An object that would rest on the car's bonnet is moved to the nearest ground, with a note.
        moved = any(f"({ref.label}): moved from" in n for n in notes)
        assert (p.y - HIGHWAY_HORIZON) / (bg.height - HIGHWAY_HORIZON) == pytest.approx(depth_ref, abs=0.05 if moved else 1e-3)
        # Size follows the reference's own perspective constant k = h / (bottom - horizon).
        k = ref.height / (ref.y1 - 150.0)
        target = k * (p.y - HIGHWAY_HORIZON)
        x0, y0, x1, y1 = obj.bbox
        assert ((x1 - x0) * (y1 - y0)) ** 0.5 == pytest.approx((target * ref.width / ref.height * target) ** 0.5,
                                                                rel=0.25, abs=2)
    # Nearer objects (lower in the image) come out larger and are drawn last.
    ys = [p.y for p in scene.placements]
    assert ys == sorted(ys)


def test_road_edges_from_seg_maps_keep_the_place_between_the_edges(ws: Workspace) -> None:
    from garbtui.core.scene.backgrounds import SegMap, SegRegion, road_span

    meta = ws.load_image_meta(CANS)
    ref_seg = SegMap(width=meta.width, height=meta.height,
                     regions=[SegRegion(surface="road", polygons=[[(-200, 1280), (470, 150), (490, 150), (1160, 1280)]])])
    bg_seg = SegMap(width=1280, height=720,
                    regions=[SegRegion(surface="road", polygons=[[(100, 720), (600, 430), (680, 430), (1200, 720)]])])
    ref_seg.save(ws.image_dir(CANS) / "seg.json")
    bg_seg.save(ws.background_dir("highway") / "seg.json")
    meta.horizon_row = 150.0
    ws.save_image_meta(meta)
    try:
        scene, notes = recreate_scene(ws, CANS, "highway")
    finally:
        meta.horizon_row = None
        ws.save_image_meta(meta)
        (ws.image_dir(CANS) / "seg.json").unlink()
        (ws.background_dir("highway") / "seg.json").unlink()
    assert any("road edges" in n for n in notes)
    refs = {r.crop_id: r for r in reference_objects(ws, CANS)}
    for p in scene.placements:
        ref = refs[p.crop_id]
        lr, rr = road_span(ref_seg, meta.width, meta.height, ref.y1)
        lb, rb = road_span(bg_seg, 1280, 720, p.y)
        assert (p.x - lb) / (rb - lb) == pytest.approx((ref.cx - lr) / (rr - lr), abs=2e-3)


def test_unknown_reference_or_background_is_a_clear_error(ws: Workspace) -> None:
    with pytest.raises(InputError, match="reference image nope"):
        recreate_scene(ws, "nope", "paving")
    with pytest.raises(InputError, match="background nope"):
        recreate_scene(ws, CANS, "nope")


def test_nearest_label_prefers_supercategory_then_size() -> None:
    priors = SizePriors()
    assert supercategory("drink CAN") == "Can"
    assert nearest_label("Aerosol", ["Drink can", "Paper cup"], priors).label == "Drink can"
    sub = nearest_label("Pop tab", ["Clear plastic bottle", "Plastic bottle cap"], priors)
    assert sub.label == "Plastic bottle cap" and "size prior" in sub.reason
    assert nearest_label("Anything", [], priors) is None
