"""Compositing: labels equal the visible pixels exactly, occlusion and clipping, Poisson colour, determinism."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from garbtui.core.compose import load_fragment, render_scene
from garbtui.core.compose.blend import poisson_colors
from garbtui.core.compose.fragment import outline_cutout
from garbtui.core.errors import InputError
from garbtui.core.export.scene_files import next_scene_id, save_and_render
from garbtui.core.scene.backgrounds import SegMap, SegRegion, add_background
from garbtui.core.workspace.atomic import atomic_write_png
from garbtui.core.workspace.models import CleanupRecipe, Placement, Scene
from garbtui.core.workspace.store import Workspace
from tests.conftest import PHOTOS, copy_sample, cut_out

CORNERS = [(r, g, b) for r in (0, 255) for g in (0, 255) for b in (0, 255)]


@pytest.fixture(scope="module")
def ws(cut_ws: Workspace) -> Workspace:
    """The sample workspace with every crop cut out along its TACO polygon (a real proc.png)."""
    return cut_ws


def crop_by_label(ws: Workspace, label: str, n: int = 0) -> str:
    return [c for c in ws.crop_ids() if ws.load_crop_meta(c).label == label][n]


def contrast_color(ws: Workspace, crop_ids: list[str]) -> tuple[int, int, int]:
    """The RGB cube corner farthest (worst-case max channel difference) from every fragment pixel."""
    pix = np.concatenate([load_fragment(ws, c).rgba[..., :3].reshape(-1, 3) for c in crop_ids]).astype(int)
    best = max(CORNERS, key=lambda c: np.abs(pix - np.array(c)).max(axis=1).min())
    assert np.abs(pix - np.array(best)).max(axis=1).min() >= 64, "no flat colour contrasts with these fragments"
    return best


def flat_background(ws: Workspace, color: tuple[int, int, int], size: tuple[int, int] = (640, 480)) -> str:
    bg_id = "flat-{}-{}-{}-{}x{}".format(*color, *size)
    if not (ws.background_dir(bg_id) / "meta.json").is_file():
        path = ws.root.parent / f"{bg_id}.png"
        atomic_write_png(path, np.full((size[1], size[0], 3), color, np.uint8))
        add_background(ws, path, "front", bg_id=bg_id)
    return bg_id


def changed(image: np.ndarray, color: tuple[int, int, int]) -> np.ndarray:
    return (image != np.array(color, np.uint8)).any(axis=2)


def extent(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def place(crop_id: str, x: float, y: float, **kw) -> Placement:
    kw.setdefault("color_match", False)
    kw.setdefault("shadow", False)  # a shadow changes the ground beside the object: these tests compare labels
    kw.setdefault("scale", 1.0)
    return Placement(crop_id=crop_id, x=x, y=y, **kw)


@pytest.mark.parametrize("blend", ["none", "feather", "poisson"])
@pytest.mark.parametrize(("label", "scale", "rotation", "flip"), [
    ("Drink can", 1.0, 0.0, False),
    ("Paper cup", 0.7, 33.0, True),
    ("Clear plastic bottle", 1.3, -75.0, False),
    ("Crisp packet", 0.45, 180.0, True),
])
def test_box_is_the_extent_of_what_the_render_changed(ws, blend, label, scale, rotation, flip) -> None:
    crop = crop_by_label(ws, label)
    color = contrast_color(ws, [crop])
    bg = flat_background(ws, color)
    scene = Scene(id="t", background_id=bg,
                  placements=[place(crop, 320, 400, scale=scale, rotation=rotation, flip=flip, blend=blend)])
    res = render_scene(ws, scene)
    obj = res.objects[0]
    diff = changed(res.image, color)
    assert not obj.dropped and not obj.clipped
    assert obj.bbox == extent(obj.mask) == extent(diff)
    assert obj.bbox[3] == 400 and abs((obj.bbox[0] + obj.bbox[2]) / 2 - 320) <= 1  # contact point: bottom centre
    assert not (diff & ~obj.mask).any(), "the render changed pixels outside the label mask"
    if blend != "poisson":
        assert (diff == obj.mask).all(), "a labelled pixel was left unchanged"
    else:
        # Poisson matches the border to the background, so a few edge pixels may round back to it.
        assert (obj.mask & ~diff).sum() <= 0.01 * obj.mask.sum()
    assert obj.visible_fraction == 1.0


def test_occlusion_updates_earlier_masks_and_boxes(ws) -> None:
    a, b = crop_by_label(ws, "Drink can"), crop_by_label(ws, "Crisp packet")
    color = contrast_color(ws, [a, b])
    bg = flat_background(ws, color)
    pa = place(a, 300, 380, blend="feather")
    pb = place(b, 420, 330, blend="feather", scale=0.8)
    alone_a = render_scene(ws, Scene(id="t", background_id=bg, placements=[pa])).objects[0]
    alone_b = render_scene(ws, Scene(id="t", background_id=bg, placements=[pb]))
    both = render_scene(ws, Scene(id="t", background_id=bg, placements=[pa, pb], occlusion_drop=0.9))
    occ_a, top_b = both.objects
    overlap = alone_a.mask & top_b.mask
    assert overlap.sum() > 500, "the test placements must overlap"
    # Each pixel belongs to the topmost object: A loses exactly what B covers, B is untouched.
    assert (occ_a.mask == (alone_a.mask & ~top_b.mask)).all()
    assert (top_b.mask == alone_b.objects[0].mask).all()
    assert occ_a.bbox == extent(occ_a.mask)
    assert occ_a.visible_fraction == pytest.approx(occ_a.mask.sum() / alone_a.mask.sum())
    # What A adds to the render (compared with B alone) lies in A's pixels, and all of A's visible pixels show.
    a_effect = (both.image != alone_b.image).any(axis=2)
    assert not (a_effect & ~alone_a.mask).any()
    assert (occ_a.mask & ~a_effect).sum() == 0
    # Where A still shows through B's soft edge, the pixel is B's (soft edge only, never B's opaque core).
    assert not (a_effect & ~occ_a.mask & ~top_b.mask).any()


def test_objects_hidden_beyond_the_threshold_are_dropped(ws) -> None:
    a, b = crop_by_label(ws, "Plastic bottle cap"), crop_by_label(ws, "Crisp packet")
    bg = flat_background(ws, contrast_color(ws, [a, b]))
    pa = place(a, 320, 300, blend="none")
    pb = place(b, 320, 330, blend="none")
    res = render_scene(ws, Scene(id="t", background_id=bg, placements=[pa, pb]))
    assert res.objects[0].dropped and res.objects[0].visible_fraction == 0.0
    assert "hidden" in res.objects[0].drop_reason
    assert [o.crop_id for o in res.kept] == [b]
    assert any("hidden" in w for w in res.warnings)
    # Partly hidden: kept or dropped depending on the scene's threshold.
    pb2 = place(b, 320 + 40, 330, blend="none", scale=0.5)
    part = render_scene(ws, Scene(id="t", background_id=bg, placements=[place(a, 320, 300, blend="none", scale=2.0), pb2]))
    hidden = 1 - part.objects[0].visible_fraction
    assert 0.05 < hidden < 0.95
    lo = render_scene(ws, Scene(id="t", background_id=bg, occlusion_drop=hidden - 0.02,
                                placements=[place(a, 320, 300, blend="none", scale=2.0), pb2]))
    hi = render_scene(ws, Scene(id="t", background_id=bg, occlusion_drop=hidden + 0.02,
                                placements=[place(a, 320, 300, blend="none", scale=2.0), pb2]))
    assert lo.objects[0].dropped and not hi.objects[0].dropped


@pytest.mark.parametrize(("x", "y", "side"), [(10, 300, "left"), (630, 300, "right"), (320, 40, "top"),
                                               (320, 520, "bottom"), (2, 530, "corner")])
def test_fragments_are_clipped_at_the_border_with_their_labels(ws, x, y, side) -> None:
    crop = crop_by_label(ws, "Drink can")
    color = contrast_color(ws, [crop])
    bg = flat_background(ws, color)
    res = render_scene(ws, Scene(id="t", background_id=bg, placements=[place(crop, x, y, blend="feather")]))
    obj = res.objects[0]
    assert obj.clipped and not obj.dropped
    assert obj.mask.shape == (480, 640)
    diff = changed(res.image, color)
    assert (diff == obj.mask).all()
    x0, y0, x1, y1 = obj.bbox
    assert obj.bbox == extent(diff)
    assert {"left": x0 == 0, "right": x1 == 640, "top": y0 == 0, "bottom": y1 == 480,
            "corner": x0 == 0 and y1 == 480}[side]


def test_fragment_entirely_outside_is_dropped(ws) -> None:
    crop = crop_by_label(ws, "Drink can")
    bg = flat_background(ws, (0, 0, 0))
    res = render_scene(ws, Scene(id="t", background_id=bg, placements=[place(crop, -500, 300)]))
    assert res.objects[0].dropped and "outside" in res.objects[0].drop_reason
    assert not res.kept and res.warnings


def test_poisson_keeps_the_fragment_colour(ws) -> None:
    """Naive seamless cloning pulls the object towards the background colour; ours keeps its mean."""
    bg = add_background(ws, PHOTOS / "clean" / "taco_b2_000019_crop.jpg", "front")  # green lawn
    crop = crop_by_label(ws, "Paper cup")  # a white cup: the green pull is large
    base = dict(crop_id=crop, x=640, y=450, scale=1.0, color_match=False)
    hard = render_scene(ws, Scene(id="t", background_id=bg.id, placements=[Placement(blend="none", **base)]))
    pois = render_scene(ws, Scene(id="t", background_id=bg.id, placements=[Placement(blend="poisson", **base)]))
    m = hard.objects[0].mask & pois.objects[0].mask
    ref = hard.image[m].astype(float).mean(axis=0)
    ours = pois.image[m].astype(float).mean(axis=0)
    assert np.abs(ours - ref).max() < 6.0, (ours, ref)
    # The same clone without the mean correction drifts far more: the test can tell the difference.
    x0, y0, x1, y1 = hard.objects[0].bbox
    roi = pois.image[y0:y1, x0:x1]
    frag = hard.image[y0:y1, x0:x1].astype(np.float32)
    alpha = np.where(hard.objects[0].mask[y0:y1, x0:x1], 255, 0).astype(np.uint8)
    p = 6
    dst = cv2.copyMakeBorder(render_scene(ws, Scene(id="t", background_id=bg.id)).image[y0:y1, x0:x1], p, p, p, p,
                             cv2.BORDER_REFLECT)
    src = cv2.copyMakeBorder(frag.astype(np.uint8), p, p, p, p, cv2.BORDER_REFLECT)
    msk = np.zeros(dst.shape[:2], np.uint8)
    msk[p:-p, p:-p] = alpha
    bx, by, bw, bh = cv2.boundingRect(msk)
    naive = cv2.seamlessClone(src, dst, msk, (bx + bw // 2, by + bh // 2), cv2.NORMAL_CLONE)[p:-p, p:-p]
    inside = alpha > 0
    naive_shift = np.abs(naive[inside].astype(float).mean(axis=0) - frag[inside].mean(axis=0)).max()
    assert naive_shift > 3 * np.abs(ours - ref).max()
    assert roi.shape == naive.shape
    out = poisson_colors(roi, frag, alpha)  # the helper itself: same mean as the fragment, within rounding
    assert np.abs(out[inside].mean(axis=0) - frag[inside].mean(axis=0)).max() < 1.0


def test_same_scene_same_bytes(ws) -> None:
    bg = add_background(ws, PHOTOS / "clean" / "udacity_adv_straight_lines1.jpg", "road", horizon=423.0)
    crops = [crop_by_label(ws, lbl) for lbl in ("Drink can", "Paper cup", "Clear plastic bottle", "Crisp packet")]
    blends = ["none", "feather", "poisson", "feather"]
    placements = [Placement(crop_id=c, x=250 + 230 * i, y=560 + 40 * i, blend=b, shadow=True, rotation=15 * i,
                            flip=bool(i % 2)) for i, (c, b) in enumerate(zip(crops, blends, strict=True))]
    scene = Scene(id="det", background_id=bg.id, placements=placements, seed=7)
    folder = ws.scene_dir("det")

    def snapshot() -> dict[str, bytes]:
        return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
                and not p.name.startswith(".")}

    assert next_scene_id(ws, "det") == "det-0001"
    save_and_render(ws, scene)
    first = snapshot()
    save_and_render(ws, scene)
    assert snapshot() == first
    assert {"scene.json", "render.jpg", "labels/coco.json", "labels/labelstudio.json",
            "labels/yolo/detect/render.txt", "labels/yolo/segment/render.txt", "labels/yolo/classes.txt"} <= set(first)
    moved = scene.model_copy(update={"placements": [placements[0].model_copy(update={"x": 260.0})] + placements[1:]})
    save_and_render(ws, moved)
    assert snapshot()["render.jpg"] != first["render.jpg"]


def test_preview_max_size_scales_labels(ws) -> None:
    bg = add_background(ws, PHOTOS / "clean" / "udacity_adv_straight_lines1.jpg", "road", horizon=423.0)
    crop = crop_by_label(ws, "Clear plastic bottle")
    scene = Scene(id="t", background_id=bg.id, placements=[Placement(crop_id=crop, x=900, y=700, scale=0.8)])
    full = render_scene(ws, scene)
    small = render_scene(ws, scene, max_size=320)
    assert small.image.shape == (180, 320, 3) and small.factor == pytest.approx(0.25)
    assert all(abs(s - f * 0.25) <= 1.5 for s, f in zip(small.objects[0].bbox, full.objects[0].bbox, strict=True))
    assert small.objects[0].bbox == extent(small.objects[0].mask)


def test_shadow_and_colour_match_do_not_move_labels(ws) -> None:
    bg = add_background(ws, PHOTOS / "clean" / "taco_b2_000018_crop.jpg", "front")  # dark asphalt
    crop = crop_by_label(ws, "Paper cup", 1)
    p = Placement(crop_id=crop, x=640, y=700, scale=1.0, blend="feather", color_match=False, shadow=False)
    plain = render_scene(ws, Scene(id="t", background_id=bg.id, placements=[p]))
    shaded = render_scene(ws, Scene(id="t", background_id=bg.id, placements=[p.model_copy(update={"shadow": True})]))
    matched = render_scene(ws, Scene(id="t", background_id=bg.id,
                                     placements=[p.model_copy(update={"color_match": True})]))
    mask = plain.objects[0].mask
    assert (shaded.objects[0].mask == mask).all() and (matched.objects[0].mask == mask).all()
    outside = (shaded.image != plain.image).any(axis=2) & ~mask
    assert outside.sum() > 100, "the shadow darkens the ground around the contact point"
    assert shaded.image[outside].astype(int).sum() < plain.image[outside].astype(int).sum()
    # Colour matching follows the surroundings: the same cup comes out darker on dark ground than on bright.
    grey = {}
    for name, value in (("dark", 40), ("bright", 215)):
        flat = flat_background(ws, (value, value, value))
        q = Placement(crop_id=crop, x=320, y=450, scale=0.8, blend="feather", color_match=True)
        res = render_scene(ws, Scene(id="t", background_id=flat, placements=[q]))
        grey[name] = cv2.cvtColor(res.image, cv2.COLOR_RGB2GRAY)[res.objects[0].mask].mean()
    assert grey["dark"] < grey["bright"] - 10


def test_placement_area_is_flagged_not_refused(ws) -> None:
    bg = add_background(ws, PHOTOS / "clean" / "udacity_p1_solidWhiteRight.jpg", "road", horizon=305.0)
    assert bg.placement.y_min is not None and bg.placement.y_min > 305
    crop = crop_by_label(ws, "Drink can")
    scene = Scene(id="t", background_id=bg.id, placements=[Placement(crop_id=crop, x=480, y=500),
                                                           Placement(crop_id=crop, x=480, y=310)])
    res = render_scene(ws, scene)
    assert res.objects[0].in_area and not res.objects[1].in_area
    assert "above the placement band" in res.objects[1].area_note
    assert len(res.warnings) == 1 and res.warnings[0].startswith("placement 2")  # numbered from 1
    # seg.json: the right verge is grass, the middle of the image is a wall (not a garbage surface).
    SegMap(width=960, height=540, regions=[
        SegRegion(surface="road", polygons=[[(0, 540), (480, 310), (960, 540)]]),
        SegRegion(surface="wall", polygons=[[(400, 480), (560, 480), (560, 540), (400, 540)]]),
    ]).save(ws.background_dir(bg.id) / "seg.json")
    res = render_scene(ws, Scene(id="t", background_id=bg.id, placements=[
        Placement(crop_id=crop, x=300, y=520), Placement(crop_id=crop, x=480, y=500),
        Placement(crop_id=crop, x=900, y=400)]))
    assert [o.in_area for o in res.objects] == [True, False, False]
    assert "wall" in res.objects[1].area_note and "no marked surface" in res.objects[2].area_note
    (ws.background_dir(bg.id) / "seg.json").unlink()


def test_clear_errors(ws, tmp_path: Path) -> None:
    bg = flat_background(ws, (0, 0, 0))
    with pytest.raises(InputError, match="does not exist"):
        render_scene(ws, Scene(id="t", background_id="nope", placements=[]))
    with pytest.raises(InputError, match="does not exist"):
        render_scene(ws, Scene(id="t", background_id=bg, placements=[Placement(crop_id="ghost", x=1, y=1)]))
    crop = crop_by_label(ws, "Drink can")
    proc = ws.proc_path(crop)
    keep = tmp_path / "proc.png"
    shutil.copy(proc, keep)
    proc.unlink()
    try:
        with pytest.raises(InputError, match="no proc.png"):
            render_scene(ws, Scene(id="t", background_id=bg, placements=[Placement(crop_id=crop, x=1, y=1)]))
    finally:
        shutil.copy(keep, proc)


def test_fragment_cache_follows_a_resaved_cutout(ws) -> None:
    crop = crop_by_label(ws, "Drink can", 1)
    bg = flat_background(ws, (0, 0, 0))
    scene = Scene(id="t", background_id=bg, placements=[place(crop, 320, 400, blend="none")])
    cache: dict = {}
    first = render_scene(ws, scene, fragments=cache).objects[0]
    assert crop in cache
    assert render_scene(ws, scene, fragments=cache).objects[0].bbox == first.bbox
    rgba = outline_cutout(ws, crop)
    rgba[: rgba.shape[0] // 2, :, 3] = 0  # the user cuts the top half away and saves again
    ws.save_proc(crop, rgba, CleanupRecipe(auto=False))
    try:
        again = render_scene(ws, scene, fragments=cache).objects[0]
        assert again.bbox[3] == first.bbox[3] and (again.bbox[3] - again.bbox[1]) < (first.bbox[3] - first.bbox[1])
    finally:
        ws.save_proc(crop, outline_cutout(ws, crop), CleanupRecipe(auto=False))


def test_re_adding_keeps_a_typed_horizon(ws) -> None:
    path = PHOTOS / "clean" / "udacity_adv_test5.jpg"
    add_background(ws, path, "road", horizon=400.0, bg_id="keep-h")
    again = add_background(ws, path, "road", bg_id="keep-h", camera_height=1.2)
    assert (again.horizon_row, again.horizon_estimated, again.camera_height_m) == (400.0, False, 1.2)
    moved = add_background(ws, path, "road", horizon=405.0, bg_id="keep-h")
    assert moved.horizon_row == 405.0 and moved.camera_height_m == 1.2


def test_next_scene_id(ws) -> None:
    first = next_scene_id(ws, "My scene")
    assert first == "my-scene-0001"
    ws.scene_dir(first).mkdir(parents=True)
    assert next_scene_id(ws, "My scene") == "my-scene-0002"


def test_background_cache_gives_the_same_render_and_follows_the_file(tmp_path) -> None:
    """A preview cache of decoded backgrounds changes nothing in the output, and a new photo is read again."""
    ws = Workspace.open(copy_sample(tmp_path / "ws"))
    crop = ws.crop_ids()[0]
    cut_out(ws, [crop], CleanupRecipe())
    bg = next(b for b in ws.background_ids() if ws.load_background_meta(b).scene == "front")
    scene = Scene(id="s", background_id=bg, placements=[Placement(crop_id=crop, x=400, y=500, scale=1.0)])
    cache: dict = {}
    plain = render_scene(ws, scene, max_size=320)
    first = render_scene(ws, scene, max_size=320, backgrounds=cache)
    second = render_scene(ws, scene, max_size=320, backgrounds=cache)
    assert len(cache) == 1
    assert np.array_equal(plain.image, first.image) and np.array_equal(first.image, second.image)
    assert first.factor == plain.factor and first.objects[0].bbox == plain.objects[0].bbox
    path = ws.background_path(bg)
    dark = (cv2.imread(str(path)) // 2)
    cv2.imwrite(str(path.with_name("new.jpg")), dark)
    path.with_name("new.jpg").replace(path)
    third = render_scene(ws, scene, max_size=320, backgrounds=cache)
    assert third.image.mean() < second.image.mean() - 10
