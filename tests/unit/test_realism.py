"""Realistic pasting on real fragments and photos: colours kept, contact shadow, focus, noise, JPEG grid, edges,
front-photo sizes, and objects nobody can see left out of the labels."""

from __future__ import annotations

import math
import shutil

import cv2
import numpy as np
import pytest

from garbtui.core.compose import load_fragment, render_scene
from garbtui.core.compose.edges import decontaminate
from garbtui.core.compose.fragment import outline_cutout, transform_fragment
from garbtui.core.compose.look import look_of
from garbtui.core.compose.paste import shape_alpha
from garbtui.core.compose.realism import REALISTIC
from garbtui.core.compose.texture import blur_sigma, gray_of, jpeg_quality, noise_sigma
from garbtui.core.scene.backgrounds import add_background
from garbtui.core.scene.perspective import front_ground, object_length_px, resolve_scale
from garbtui.core.scene.size_priors import MAX_LENGTH_FACTOR, SizePriors
from garbtui.core.workspace.atomic import atomic_write_jpeg, atomic_write_png
from garbtui.core.workspace.imageio import read_rgb
from garbtui.core.workspace.models import BackgroundMeta, CleanupRecipe, Placement, Scene
from garbtui.core.workspace.regions import region_mask
from garbtui.core.workspace.store import Workspace
from tests.conftest import PHOTOS, SAMPLE_DATA

RED_BOTTLE = "0e63b810"
COKE = "0648da2d"
PEPSI = "98c7003c"
COSTA = "58f84ec0"
POP_TAB = "52434dcf"


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The sample workspace, every crop cut along its TACO polygon."""
    root = tmp_path_factory.mktemp("realism") / "ws"
    shutil.copytree(SAMPLE_DATA / "workspace", root)
    ws = Workspace.open(root)
    for crop_id in ws.crop_ids():
        ws.save_proc(crop_id, outline_cutout(ws, crop_id), CleanupRecipe(auto=False))
    return ws


def crop(ws: Workspace, suffix: str) -> str:
    return next(c for c in ws.crop_ids() if c.endswith(suffix))


def flat(ws: Workspace, value: int, size: tuple[int, int] = (480, 360)) -> str:
    bg_id = f"flat-{value}-{size[0]}x{size[1]}"
    if not (ws.background_dir(bg_id) / "meta.json").is_file():
        path = ws.root.parent / f"{bg_id}.png"
        atomic_write_png(path, np.full((size[1], size[0], 3), value, np.uint8))
        add_background(ws, path, "front", bg_id=bg_id)
    return bg_id


def lab_stats(rgb: np.ndarray, mask: np.ndarray) -> tuple[float, float, float]:
    """(mean L*, mean chroma, hue angle of the mean a*b* in degrees) of the pixels under mask."""
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[mask]
    chroma = np.sqrt(lab[:, 1] ** 2 + lab[:, 2] ** 2)
    return float(lab[:, 0].mean()), float(chroma.mean()), math.degrees(math.atan2(lab[:, 2].mean(), lab[:, 1].mean()))


def interior(mask: np.ndarray, r: int = 3) -> np.ndarray:
    return cv2.erode(mask.astype(np.uint8), np.ones((2 * r + 1, 2 * r + 1), np.uint8)) > 0


@pytest.mark.parametrize("photo", ["taco_b2_000019_crop.jpg", "taco_b2_000044_crop_paving.jpg",
                                   "taco_b3_IMG_4972_crop.jpg"])
def test_a_saturated_red_stays_red(ws: Workspace, photo: str) -> None:
    """Colour matching moves the light, not the object's own colours: a red bottle and a Coke can keep their
    mean chroma within 15 % of their own (unless the spot is darker, then in proportion) and their hue."""
    bg = add_background(ws, PHOTOS / "clean" / photo, "front")
    for suffix in (RED_BOTTLE, COKE):
        frag = load_fragment(ws, crop(ws, suffix))
        own = frag.rgba[:, :, 3] == 255
        l0, c0, h0 = lab_stats(frag.rgba[:, :, :3], interior(own))
        assert c0 > 30, "a saturated red fragment"
        p = Placement(crop_id=frag.crop_id, x=bg.width / 2, y=bg.height * 0.7, scale=0.8, blend="feather",
                      shadow=False, color_match=True)
        res = render_scene(ws, Scene(id="t", background_id=bg.id, placements=[p]))
        obj = res.objects[0]
        assert not obj.dropped
        l1, c1, h1 = lab_stats(res.image, interior(obj.mask))
        assert c1 >= 0.85 * c0 * min(1.0, (l1 + 1) / (l0 + 1)) - 1.0, (suffix, photo, c0, c1, l0, l1)
        assert abs((h1 - h0 + 180) % 360 - 180) < 15, (suffix, photo, h0, h1)
        plain = render_scene(ws, Scene(id="t", background_id=bg.id, placements=[p.model_copy(
            update={"color_match": False})]))
        assert (plain.image != res.image).any(), "colour matching changed nothing"


def test_exposure_follows_the_surroundings(ws: Workspace) -> None:
    cup = crop(ws, COSTA)
    grey = {}
    for value in (40, 215):
        p = Placement(crop_id=cup, x=240, y=300, scale=0.8, blend="feather", shadow=False)
        res = render_scene(ws, Scene(id="t", background_id=flat(ws, value), placements=[p]))
        grey[value] = lab_stats(res.image, interior(res.objects[0].mask))[0]
    assert grey[40] < grey[215] - 10


def _shadow_pair(ws: Workspace, bg: str, **kw: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p = Placement(crop_id=crop(ws, COKE), x=240, y=260, scale=0.8, blend="feather", color_match=False, **kw)
    plain = render_scene(ws, Scene(id="t", background_id=bg, placements=[p.model_copy(update={"shadow": False})]))
    shaded = render_scene(ws, Scene(id="t", background_id=bg, placements=[p]))
    assert (plain.objects[0].mask == shaded.objects[0].mask).all(), "a shadow is never labelled"
    return plain.image, shaded.image, plain.objects[0].mask


def test_contact_shadow_lies_under_the_object_soft_and_attached(ws: Workspace) -> None:
    bg = flat(ws, 150)
    plain, shaded, mask = _shadow_pair(ws, bg)  # shadow: auto, the default
    side = math.sqrt(mask.sum())
    # Darkening in linear light, outside the object.
    dark = 1.0 - (shaded.astype(np.float64).mean(axis=2) / plain.astype(np.float64).mean(axis=2)) ** 2.2
    d_out = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 3)
    ys, xs = np.nonzero(mask)
    cy = ys.mean()
    rim = (d_out > 0) & (d_out <= 2)
    # As measured on real litter: the outline about 0.15 (ambient occlusion) to 0.45 (with the cast shadow) darker.
    assert 0.12 <= dark[rim].mean() <= 0.45, dark[rim].mean()
    below, above = rim & (np.arange(dark.shape[0])[:, None] > cy), rim & (np.arange(dark.shape[0])[:, None] < cy)
    assert dark[below].mean() > dark[above].mean() + 0.03, "the shadow falls down, under the object"
    assert dark[(d_out > 0.3 * side) & (d_out <= 0.35 * side)].mean() < 0.5 * dark[rim].mean(), "soft: it fades"
    assert dark[d_out > 0.6 * side].max() < 0.02, "never offset away from the object"
    assert dark.max() < 0.6, "never a black blob"
    # Off: the ground is untouched.
    off = render_scene(ws, Scene(id="t", background_id=bg, placements=[Placement(
        crop_id=crop(ws, COKE), x=240, y=260, scale=0.8, color_match=False, shadow=False)]))
    assert (off.image[~off.objects[0].mask] == 150).all()


def test_shadow_direction_comes_from_the_background_meta(ws: Workspace) -> None:
    bg = flat(ws, 140, (500, 360))
    ws.update_background_meta(bg, lambda m: setattr(m, "shadow_direction", 0.0))  # shadows fall to the right
    plain, shaded, mask = _shadow_pair(ws, bg)
    dark = plain.astype(np.float64).mean(axis=2) - shaded.astype(np.float64).mean(axis=2)
    xs = np.nonzero(mask)[1]
    ring = (cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 3) <= 6) & ~mask
    cols = np.arange(mask.shape[1])[None, :]
    assert dark[ring & (cols > xs.max() - 2)].mean() > 1.5 * dark[ring & (cols < xs.min() + 2)].mean()


def test_auto_shadow_only_for_objects_on_the_ground(ws: Workspace) -> None:
    bg = add_background(ws, PHOTOS / "clean" / "udacity_p1_solidWhiteRight.jpg", "road", horizon=305.0)
    can = crop(ws, COKE)
    above = Placement(crop_id=can, x=200, y=300, scale=0.3, color_match=False)  # over the horizon band: not ground
    for shadow, changes in (("auto", False), (True, True)):
        p = above.model_copy(update={"shadow": shadow})
        res = render_scene(ws, Scene(id="t", background_id=bg.id, placements=[p]))
        plain = render_scene(ws, Scene(id="t", background_id=bg.id, placements=[p.model_copy(update={"shadow": False})]))
        m = res.objects[0].mask
        assert not res.objects[0].in_area
        assert bool((res.image[~m] != plain.image[~m]).any()) == changes


def _blurred_noisy_ground(ws: Workspace, sigma: float, noise: float) -> str:
    bg_id = f"soft-{sigma}-{noise}"
    if not (ws.background_dir(bg_id) / "meta.json").is_file():
        rgb = read_rgb(PHOTOS / "clean" / "taco_b2_000044_crop_paving.jpg")[:480, :640]
        rgb = cv2.GaussianBlur(rgb, (0, 0), sigma) if sigma else rgb
        rng = np.random.default_rng(0)
        rgb = np.clip(rgb + rng.normal(0, noise, rgb.shape), 0, 255).astype(np.uint8)
        path = ws.root.parent / f"{bg_id}.png"
        atomic_write_png(path, rgb)
        add_background(ws, path, "front", bg_id=bg_id)
    return bg_id


def _pasted(ws: Workspace, bg: str, suffix: str, scale: float, **realism: float) -> tuple[np.ndarray, np.ndarray]:
    from garbtui.core.compose.occlusion import Layer
    from garbtui.core.compose.render import PlacementInfo, composite_placement

    frag = load_fragment(ws, crop(ws, suffix))
    rgb = read_rgb(ws.background_path(bg))
    canvas = rgb.copy()
    p = Placement(crop_id=frag.crop_id, x=320, y=400, scale=scale, blend="feather", shadow=False)
    layers: list[Layer | None] = []
    layer = composite_placement(canvas, layers, transform_fragment(frag.rgba, scale), p, 320, 400, frag.source,
                                PlacementInfo(0, frag.crop_id, "x"), look=look_of(rgb),
                                realism=REALISTIC.updated(**realism))
    assert layer is not None
    m = np.zeros(canvas.shape[:2], bool)
    m[layer.y0:layer.y0 + layer.mask.shape[0], layer.x0:layer.x0 + layer.mask.shape[1]] = layer.mask
    return canvas, interior(m, 4)


def test_a_fragment_is_never_crisper_or_cleaner_than_its_surroundings(ws: Workspace) -> None:
    soft = _blurred_noisy_ground(ws, 2.5, 0.0)
    look = look_of(read_rgb(ws.background_path(soft)))
    assert look.blur_all is not None and look.blur_all > 1.5
    sharp, inner = _pasted(ws, soft, PEPSI, 0.6, focus=0, noise=0)
    real, inner2 = _pasted(ws, soft, PEPSI, 0.6)
    s_sharp, s_real = blur_sigma(gray_of(sharp), inner), blur_sigma(gray_of(real), inner2)
    assert s_sharp is not None and s_real is not None
    assert s_real > s_sharp + 0.5 and s_real > 0.6 * look.blur_all, (s_sharp, s_real, look.blur_all)
    noisy = _blurred_noisy_ground(ws, 0.0, 6.0)
    look = look_of(read_rgb(ws.background_path(noisy)))
    assert look.noise_all is not None and look.noise_all > 4
    clean, inner = _pasted(ws, noisy, COSTA, 0.8, focus=0, noise=0)
    real, inner2 = _pasted(ws, noisy, COSTA, 0.8, focus=0)
    n_clean, n_real = noise_sigma(gray_of(clean), inner), noise_sigma(gray_of(real), inner2)
    assert n_clean is not None and n_real is not None and n_real > n_clean + 1.0, (n_clean, n_real)


def test_soft_fragments_are_sharpened_but_never_enlarged_ones(ws: Workspace) -> None:
    bg = _blurred_noisy_ground(ws, 0.0, 0.0)  # the sharp paving itself
    for scale, sharpened in ((0.45, True), (1.6, False)):
        base, inner = _pasted(ws, bg, COKE, scale, focus=0, noise=0, jpeg=0)
        out, inner2 = _pasted(ws, bg, COKE, scale, noise=0, jpeg=0)
        s0, s1 = blur_sigma(gray_of(base), inner), blur_sigma(gray_of(out), inner2)
        assert s0 is not None and s1 is not None
        assert (s1 < s0 - 0.05) == sharpened, (scale, s0, s1)


def test_bicubic_rotation_keeps_a_fragment_sharp(ws: Workspace) -> None:
    frag = load_fragment(ws, crop(ws, PEPSI))
    t = transform_fragment(frag.rgba, 1.0, 30.0)
    a = frag.rgba[:, :, 3:4].astype(np.float32)
    pm = np.concatenate([frag.rgba[:, :, :3] * (a / 255), a], axis=2).astype(np.float32)
    m = cv2.getRotationMatrix2D(((pm.shape[1] - 1) / 2, (pm.shape[0] - 1) / 2), 30.0, 1.0)
    m[:, 2] += [(t.rgb.shape[1] - pm.shape[1]) / 2, (t.rgb.shape[0] - pm.shape[0]) / 2]
    lin = cv2.warpAffine(pm, m, t.rgb.shape[1::-1], flags=cv2.INTER_LINEAR)
    lin_rgb = lin[:, :, :3] / np.maximum(lin[:, :, 3:4] / 255, 1e-3)
    inner = interior(t.alpha >= 254.5, 3) & interior(lin[:, :, 3] >= 254.5, 3)
    s_cubic, s_linear = blur_sigma(gray_of(t.rgb), inner), blur_sigma(gray_of(lin_rgb.astype(np.float32)), inner)
    assert s_cubic is not None and s_linear is not None and s_cubic < s_linear - 0.05, (s_cubic, s_linear)


def test_pasted_pixels_carry_the_photos_jpeg_grid(ws: Workspace, tmp_path) -> None:
    rgb = read_rgb(PHOTOS / "clean" / "taco_b2_000044_crop_paving.jpg")[:480, :640]
    for q in (55, 80, 95):
        atomic_write_jpeg(tmp_path / f"q{q}.jpg", rgb, q)
        assert abs((jpeg_quality(tmp_path / f"q{q}.jpg") or 0) - q) <= 1
    assert jpeg_quality(ws.proc_path(crop(ws, COKE))) is None  # a PNG
    bg = add_background(ws, tmp_path / "q55.jpg", "front", bg_id="paving-q55")

    def blockiness(image: np.ndarray, m: np.ndarray) -> float:
        """Mean |2nd difference| across 8 px block boundaries over the mean at other columns, inside m."""
        g = gray_of(image)
        d2 = np.abs(g[:, 2:] - 2 * g[:, 1:-1] + g[:, :-2])
        cols = (np.arange(d2.shape[1]) + 1) % 8
        mm = m[:, 1:-1]
        on = mm & ((cols == 7) | (cols == 0))[None, :]
        off = mm & ((cols >= 2) & (cols <= 5))[None, :]
        return float(d2[on].mean() / d2[off].mean())

    scene = Scene(id="t", background_id=bg.id, placements=[Placement(crop_id=crop(ws, COKE), x=320, y=420, scale=1.0,
                                                                        shadow=False)])
    res = render_scene(ws, scene)
    inner = interior(res.objects[0].mask, 2)
    with_grid = blockiness(res.image, inner)
    plain = render_scene(ws, scene, max_size=639)  # a resized render: the photo's grid is gone, no recompression
    assert plain.factor < 1.0
    from garbtui.core.compose.render import PlacementInfo, composite_placement

    canvas = read_rgb(ws.background_path(bg.id))
    frag = load_fragment(ws, crop(ws, COKE))
    p = scene.placements[0]
    layer = composite_placement(canvas, [], transform_fragment(frag.rgba, 1.0), p, 320, 420, frag.source,
                                PlacementInfo(0, p.crop_id, "x"), look=look_of(read_rgb(ws.background_path(bg.id))))
    assert layer is not None
    without = blockiness(canvas, inner)
    assert with_grid > without + 0.1, (with_grid, without)


@pytest.mark.parametrize("suffix", [COSTA, COKE])
def test_decontamination_takes_the_old_ground_out_of_the_edge(ws: Workspace, suffix: str) -> None:
    """A generous outline (1 px of ground around the object) loses the ground's colour from its rim."""
    cid = crop(ws, suffix)
    raw = read_rgb(ws.raw_path(cid))
    tight = region_mask(ws.load_crop_meta(cid), ws.crop_dir(cid))
    loose = cv2.dilate(tight.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    rgba = np.dstack([raw, np.where(loose, 255, 0).astype(np.uint8)])
    out = decontaminate(raw, rgba, REALISTIC)
    assert (out[:, :, 3] <= rgba[:, :, 3]).all(), "alpha is never raised: a label never grows"
    ground = raw[~loose].astype(float).mean(axis=0)
    ring = loose & ~tight

    def ground_shown(im: np.ndarray) -> float:
        """Alpha-weighted share of ground-coloured pixels kept in the ring."""
        like = np.abs(im[:, :, :3].astype(float) - ground).sum(axis=2) < 40
        return float((im[:, :, 3] / 255.0 * like)[ring].mean())

    assert ground_shown(out) < 0.5 * ground_shown(rgba), (ground_shown(rgba), ground_shown(out))
    inner = interior(tight, 1)
    assert (out[:, :, 3][inner] > 0).all(), "no hole in the object"
    assert (out[interior(tight, 6)] == rgba[interior(tight, 6)]).all(), "the interior is untouched"


def test_feather_width_follows_the_object_size() -> None:
    widths = []
    for r in (12, 50):
        disk = np.zeros((2 * r + 20, 2 * r + 20), np.float32)
        cv2.circle(disk, (r + 10, r + 10), r, 255.0, -1)
        a = shape_alpha(disk, "feather", REALISTIC)
        widths.append(float(((a > 10) & (a < 245)).sum()) / (2 * math.pi * r))  # soft band width, px
        assert (a <= disk).all(), "feathering never grows the object"
    assert widths[1] > 2.5 * widths[0], widths
    assert (shape_alpha(disk, "none", REALISTIC) % 255 == 0).all()


def test_objects_nobody_can_see_are_left_out_of_the_labels(ws: Workspace) -> None:
    """A crop that held only asphalt, cleaned into a cutout, pasted on the same asphalt: dropped with a note.
    A can beside it is kept."""
    bg = add_background(ws, PHOTOS / "clean" / "taco_b2_000018_crop.jpg", "front")
    photo = read_rgb(ws.background_path(bg.id))
    tab = crop(ws, POP_TAB)
    raw_path, proc_path = ws.raw_path(tab), ws.proc_path(tab)
    raw_bytes, proc_bytes = raw_path.read_bytes(), proc_path.read_bytes()
    try:
        shape = cv2.resize(outline_cutout(ws, tab)[:, :, 3], (120, 100), interpolation=cv2.INTER_NEAREST)
        ground = photo[150:250, 500:620]  # road asphalt, away from the paste
        atomic_write_png(raw_path, ground)
        ws.save_proc(tab, np.dstack([ground, shape]), CleanupRecipe(auto=False))
        res = render_scene(ws, Scene(id="t", background_id=bg.id, placements=[
            Placement(crop_id=tab, x=800, y=330, scale=1.0), Placement(crop_id=crop(ws, COKE), x=300, y=200,
                                                                       scale=0.5)]))
        asphalt, can = res.objects
        assert asphalt.dropped and asphalt.drop_reason.startswith("not visible against its surroundings"), asphalt
        assert not can.dropped and can.visibility is not None and can.visibility > 1.0
        assert any("not visible" in w for w in res.warnings)
    finally:
        raw_path.write_bytes(raw_bytes)
        proc_path.write_bytes(proc_bytes)


def test_front_photos_get_real_sizes(ws: Workspace) -> None:
    """Two cans beside each other come out about the same length (not 2.5x apart), a bottle longer, and nearer
    (lower) rows make everything larger."""
    bg = add_background(ws, PHOTOS / "clean" / "taco_b2_000044_crop_paving.jpg", "front")
    ids = [crop(ws, s) for s in (COKE, PEPSI, RED_BOTTLE)]
    scene = Scene(id="t", background_id=bg.id, placements=[
        Placement(crop_id=c, x=250 + 350 * i, y=600, shadow=False) for i, c in enumerate(ids)] + [
        Placement(crop_id=ids[0], x=600, y=900, shadow=False)])
    res = render_scene(ws, scene)
    lengths = []
    for obj in res.objects:
        ys, xs = np.nonzero(obj.mask_roi)
        (_, _), (w, h), _ = cv2.minAreaRect(np.stack([xs, ys], 1).astype(np.float32))
        lengths.append(max(w, h))
    coke, pepsi, bottle, near = lengths
    assert 1 / 1.5 < coke / pepsi < 1.5, lengths
    assert bottle > 1.3 * max(coke, pepsi), lengths
    assert near > 1.1 * coke, lengths
    ground = front_ground(ws.load_background_meta(bg.id))
    assert coke == pytest.approx(0.12 * ground.at(600), rel=MAX_LENGTH_FACTOR - 1)
    assert res.objects[0].scale is not None and "px/m" in res.objects[0].scale.note


def test_front_scale_follows_the_meta_and_stays_plausible(ws: Workspace) -> None:
    meta = ws.load_crop_meta(crop(ws, COKE))
    bg = BackgroundMeta(id="b", file="image.jpg", width=1280, height=960, scene="front")
    priors = SizePriors()
    p = Placement(crop_id=meta.id, x=640, y=480)
    base = resolve_scale(p, meta, 100, bg, priors)
    double = resolve_scale(p, meta, 100, bg.model_copy(update={"ground_scale": 2 * front_ground(bg).s_c}), priors)
    assert double.scale == pytest.approx(2 * base.scale)
    length = object_length_px(meta)
    assert base.scale * length == pytest.approx(0.12 * front_ground(bg).at(480))
    # A source photo claiming the can is 10x its typical length: never more than MAX_LENGTH_FACTOR.
    huge = resolve_scale(p, meta, 100, bg, priors, source_px_per_m=length / 1.2)
    assert huge.scale * length == pytest.approx(MAX_LENGTH_FACTOR * 0.12 * front_ground(bg).at(480))
    assert front_ground(bg).at(900) > front_ground(bg).at(100) > 0


def test_background_look_is_measured_once_per_background() -> None:
    rgb = read_rgb(PHOTOS / "clean" / "taco_b2_000019_crop.jpg")
    rgb.flags.writeable = False
    first = look_of(rgb)
    assert look_of(rgb) is first
    assert look_of(rgb.copy()) is not first
