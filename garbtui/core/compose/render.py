"""Render a scene: fragments placed on a background, blended, with exact occlusion-aware masks and boxes."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from garbtui.core.compose.fragment import (
    Fragment,
    Transformed,
    alpha_extent,
    load_fragment,
    proc_stamp,
    transform_fragment,
)
from garbtui.core.compose.look import BackgroundLook, SourceLook, look_of
from garbtui.core.compose.occlusion import Layer, occlude, should_drop, visible_fraction
from garbtui.core.compose.paste import paste
from garbtui.core.compose.realism import REALISTIC, Realism
from garbtui.core.compose.visibility import visibility
from garbtui.core.errors import GarbError, InputError
from garbtui.core.scene.backgrounds import load_seg, lower_edge_check, placement_check
from garbtui.core.scene.perspective import ScaleDecision, photo_scales, resolve_scale
from garbtui.core.scene.size_priors import SizePriors, load_size_priors
from garbtui.core.workspace.arrays import as_u8
from garbtui.core.workspace.imageio import read_rgb
from garbtui.core.workspace.models import BackgroundMeta, Placement, Scene
from garbtui.core.workspace.rle import CocoRle, encode_window_rle
from garbtui.core.workspace.store import FileStamp, Workspace

# A render's cache of decoded (and preview-sized) background photos, kept by the caller between renders:
# (background id, max_size, meta.json's stamp, the photo's stamps) -> (meta, pixels, render px per photo px).
BackgroundKey = tuple[str, int | None, FileStamp | None, tuple[FileStamp | None, ...]]
BackgroundCache = dict[BackgroundKey, tuple[BackgroundMeta, NDArray[np.uint8], float]]


@dataclass
class RenderedObject:
    """One placed fragment as it ends up in the render: its visible mask and box, or why it was dropped.

    bbox is (x0, y0, x1, y1) in render pixels, x1/y1 exclusive: exactly the extent of the visible mask
    ((0, 0, 0, 0) when nothing is visible). The mask is stored as a window (mask_roi at offset) and
    expanded on demand by `.mask`.
    """

    placement_index: int
    crop_id: str
    label: str
    bbox: tuple[int, int, int, int]
    mask_roi: NDArray[np.bool_]
    offset: tuple[int, int]
    image_size: tuple[int, int]  # (width, height) of the render
    visible_fraction: float  # visible pixels / pixels inside the image before occlusion
    dropped: bool
    drop_reason: str = ""
    clipped: bool = False  # part of the fragment fell outside the image (mask and box are clipped too)
    in_area: bool = True  # the contact point is inside the background's placement area
    area_note: str = ""
    scale: ScaleDecision | None = None
    visibility: float | None = None  # how well its visible pixels stand out from the ground around them

    @property
    def mask(self) -> NDArray[np.bool_]:
        """Full-size bool mask (height x width) of the visible pixels."""
        w, h = self.image_size
        out = np.zeros((h, w), dtype=bool)
        x0, y0 = self.offset
        mh, mw = self.mask_roi.shape
        out[y0:y0 + mh, x0:x0 + mw] = self.mask_roi
        return out

    @property
    def area(self) -> int:
        return int(self.mask_roi.sum())

    def rle(self) -> CocoRle:
        """COCO compressed RLE ({'size': [h, w], 'counts': str}) of the visible mask."""
        return encode_window_rle(self.mask_roi, self.offset, self.image_size)


@dataclass
class PlacementInfo:
    """One placement as the paste step sees it: what it is, how it was scaled, and what pasting found.

    Made by the caller before composite_placement (index, crop, label, scale, area), completed by it
    (clipped, or the reason nothing of it shows) and turned into a RenderedObject by finish_object.
    """

    index: int
    crop_id: str
    label: str
    scale: ScaleDecision | None = None  # None for recipes, whose scales are already numbers
    in_area: bool = True  # the contact point is inside the background's placement area
    area_note: str = ""  # why it is not
    clipped: bool = False  # part of the fragment fell outside the image
    reason: str = ""  # why nothing of it shows, when composite_placement returned no layer


@dataclass
class RenderResult:
    """The composite (RGB uint8) and every placed object, in placement order."""

    image: NDArray[np.uint8]  # RGB
    objects: list[RenderedObject]
    scene_id: str
    background_id: str
    factor: float = 1.0  # render pixels per background pixel (< 1 for max_size previews)
    warnings: list[str] = field(default_factory=list)

    @property
    def kept(self) -> list[RenderedObject]:
        """The objects that make it into the labels."""
        return [o for o in self.objects if not o.dropped]


def _source_camera_height(ws: Workspace, image_id: str) -> float | None:
    try:
        return ws.load_image_meta(image_id).camera_height_m
    except GarbError:
        return None


_SCALES: dict[tuple[str, FileStamp | None], dict[str, float]] = {}


def source_scales(ws: Workspace, priors: SizePriors) -> dict[str, float]:
    """Pixels per metre of the workspace's source photos with two or more annotated objects (perspective.
    photo_scales), read once per process while the crops folder is unchanged (a crop added or removed)."""
    key = (str(ws.root), FileStamp.of(ws.root / "crops"))
    found = _SCALES.get(key)
    if found is None:
        found = photo_scales((e.meta for e in ws.crops() if e.meta is not None), priors)
        _SCALES.clear()
        _SCALES[key] = found
    return found


def _load_background(ws: Workspace, scene: Scene) -> tuple[BackgroundMeta, NDArray[np.uint8]]:
    if not (ws.background_dir(scene.background_id) / "meta.json").is_file():
        raise InputError(f"scene {scene.id}: background {scene.background_id} does not exist in the workspace",
                         where=str(ws.root / "backgrounds"))
    meta = ws.load_background_meta(scene.background_id)
    rgb = read_rgb(ws.background_path(scene.background_id))
    if rgb.shape[:2] != (meta.height, meta.width):
        raise InputError(f"background {meta.id}: image is {rgb.shape[1]}x{rgb.shape[0]} but meta.json says "
                         f"{meta.width}x{meta.height}", where=str(ws.background_dir(meta.id)))
    return meta, rgb


def _background_at(
    ws: Workspace, scene: Scene, max_size: int | None, cache: BackgroundCache | None
) -> tuple[BackgroundMeta, NDArray[np.uint8], float]:
    """The background photo, shrunk to max_size when given, from `cache` when its files are unchanged."""
    key: BackgroundKey | None = None
    if cache is not None:
        folder = ws.background_dir(scene.background_id)
        key = (scene.background_id, max_size, FileStamp.of(folder / "meta.json"),
               tuple(FileStamp.of(p) for p in sorted(folder.glob("image.*"))))
        hit = cache.get(key)
        if hit is not None:
            return hit
    meta, bg = _load_background(ws, scene)
    H0, W0 = bg.shape[:2]
    factor = 1.0
    if max_size is not None and max(W0, H0) > max_size:
        factor = max_size / max(W0, H0)
        size = (max(1, round(W0 * factor)), max(1, round(H0 * factor)))
        bg = as_u8(cv2.resize(bg, size, interpolation=cv2.INTER_AREA))
    bg = np.ascontiguousarray(bg)
    if cache is not None and key is not None:
        bg.flags.writeable = False
        if len(cache) >= 8:  # a few backgrounds at a few preview sizes; never grows without bound
            cache.pop(next(iter(cache)))
        cache[key] = (meta, bg, factor)
    return meta, bg, factor


def render_scene(
    ws: Workspace,
    scene: Scene,
    *,
    max_size: int | None = None,
    fragments: dict[str, Fragment] | None = None,
    backgrounds: BackgroundCache | None = None,
    realism: Realism = REALISTIC,
) -> RenderResult:
    """Render `scene` in memory. Deterministic: the same scene and files give the same pixels.

    max_size downsizes the background first (longest side) for fast previews; positions, scales and
    labels follow. `fragments` is an optional cache (crop id -> Fragment) the caller may keep between
    renders; it is filled as fragments are loaded, and an entry whose proc.png was saved again since
    is reloaded. `backgrounds` is the same for decoded (and preview-sized) background photos, keyed on
    the photo's and meta's file stamps, so a preview rerender does not decode the JPEG again. Placements
    outside the placement area are rendered and flagged (RenderedObject.in_area, RenderResult.warnings),
    never refused; so are objects whose lower edge misses seg.json's ground (a warning). `realism` switches
    steps of the realistic paste off (tests, benches); scenes use the default.
    """
    bg_meta, bg, factor = _background_at(ws, scene, max_size, backgrounds)
    # The photo's JPEG grid survives only at its own resolution: then the pasted pixels are recompressed on it.
    look = look_of(bg, meta=bg_meta, photo=ws.background_path(bg_meta.id) if factor == 1.0 else None, realism=realism)
    canvas = bg.copy()
    H, W = canvas.shape[:2]
    priors = load_size_priors(ws.root)
    front = bg_meta.scene != "road" and any(p.scale == "auto" for p in scene.placements)
    scales = source_scales(ws, priors) if front else {}
    seg = load_seg(ws, bg_meta.id)
    cache = fragments if fragments is not None else {}
    layers: list[Layer | None] = []
    infos: list[PlacementInfo] = []
    warnings: list[str] = []
    for index, p in enumerate(scene.placements):
        frag = cache.get(p.crop_id)
        if frag is None or frag.stamp != proc_stamp(ws, p.crop_id):
            frag = load_fragment(ws, p.crop_id)
            cache[p.crop_id] = frag
        decision = resolve_scale(
            p, frag.meta, frag.height_px, bg_meta, priors,
            source_camera_height=_source_camera_height(ws, frag.meta.image_id),
            source_px_per_m=scales.get(frag.meta.image_id) if front else None, index=index,
        )
        area = placement_check(bg_meta, seg, p.x, p.y)
        if not area.ok:
            warnings.append(f"placement {index + 1} ({p.crop_id}): {area.reason}")
        info = PlacementInfo(index, p.crop_id, frag.meta.label, decision, area.ok, area.reason)
        infos.append(info)
        t = transform_fragment(frag.rgba, decision.scale * factor, p.rotation, p.flip)
        layer = composite_placement(canvas, layers, t, p, p.x * factor, p.y * factor, frag.source, info, look=look,
                                    realism=realism)
        if layer is None:
            warnings.append(f"placement {index + 1} ({p.crop_id}): {info.reason}")
        elif area.ok:  # the contact point is fine: is the rest of the object's lower edge on the ground too?
            edge = lower_edge_check(bg_meta, seg, layer.mask, (layer.x0, layer.y0), factor)
            if not edge.ok:
                warnings.append(f"placement {index + 1} ({p.crop_id}): {edge.reason}")
        layers.append(layer)
    objects = [finish_object(info, layer, scene.occlusion_drop, (W, H), canvas=canvas, realism=realism)
               for info, layer in zip(infos, layers, strict=True)]
    for obj in objects:
        if obj.dropped and obj.drop_reason.startswith(("hidden", "not visible")):
            warnings.append(f"placement {obj.placement_index + 1} ({obj.crop_id}): {obj.drop_reason}")
    return RenderResult(canvas, objects, scene.id, bg_meta.id, factor, warnings)


def composite_placement(
    canvas: NDArray[np.uint8], layers: list[Layer | None], t: Transformed, p: Placement, x: float, y: float,
    source: SourceLook | None, info: PlacementInfo, *, look: BackgroundLook | None = None,
    realism: Realism = REALISTIC,
) -> Layer | None:
    """Paste one transformed fragment onto `canvas` with the bottom-centre of its visible extent at (x, y)
    (render pixels), realistically (compose/paste.py), and take its pixels from the earlier `layers`.
    Returns its layer, or None with info.reason saying why nothing of it shows (info.clipped says whether
    part of it fell outside). `source` is the fragment's (Fragment.source); `look` the background's,
    measured once (look_of) - without it the ground around each spot is measured again. The one paste step
    of scenes and generated images."""
    shadow = p.shadow is True or (p.shadow == "auto" and info.in_area)
    got = paste(canvas, t, p.blend, x, y, source=source, look=look, color_match=p.color_match, shadow=shadow,
                realism=realism, seed_key=(p.crop_id, info.index))
    if isinstance(got, str):
        info.reason = got
        return None
    info.clipped = got.clipped
    visible = got.alpha > 0
    layer = Layer(got.x0, got.y0, visible, int(np.count_nonzero(visible)), got.alpha)
    occlude([lay for lay in layers if lay is not None], layer)
    return layer


def finish_object(info: PlacementInfo, layer: Layer | None, occlusion_drop: float, size: tuple[int, int], *,
                  canvas: NDArray[np.uint8] | None = None, realism: Realism = REALISTIC) -> RenderedObject:
    """The labelled object of one placement: its visible mask and exact box after every later paste. Given the
    finished `canvas`, an object whose visible pixels cannot be told from the ground around them (visibility
    under realism.visibility) is dropped from the labels, with the reason."""
    extra = (info.clipped, info.in_area, info.area_note, info.scale)
    if layer is None:
        return RenderedObject(info.index, info.crop_id, info.label, (0, 0, 0, 0),
                              np.zeros((0, 0), dtype=bool), (0, 0), size, 0.0, True, info.reason, *extra)
    ext = alpha_extent(layer.mask)
    frac = visible_fraction(layer)
    pixels = int(np.count_nonzero(layer.mask))
    if ext is None:
        bbox, mask, offset = (0, 0, 0, 0), np.zeros((0, 0), dtype=bool), (0, 0)
    else:
        ex0, ey0, ex1, ey1 = ext
        mask = np.ascontiguousarray(layer.mask[ey0:ey1, ex0:ex1])
        offset = (layer.x0 + ex0, layer.y0 + ey0)
        bbox = (offset[0], offset[1], layer.x0 + ex1, layer.y0 + ey1)
    dropped = should_drop(frac, occlusion_drop, pixels)
    reason = ""
    score = None
    if dropped:
        reason = "hidden entirely by later fragments" if pixels == 0 else (
            f"hidden {100 * (1 - frac):.0f}% by later fragments (over the {100 * occlusion_drop:.0f}% limit)")
    elif canvas is not None and realism.visibility > 0:
        score = visibility(canvas, offset[0], offset[1], mask)
        if score < realism.visibility:
            dropped, reason = True, f"not visible against its surroundings ({score:.2f})"
    return RenderedObject(info.index, info.crop_id, info.label, bbox, mask, offset, size, frac, dropped,
                          reason, *extra, visibility=score)
