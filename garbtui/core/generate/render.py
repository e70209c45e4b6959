"""Render a recipe at its output size, straight from cached decoded files, and encode its image and labels.

The per-placement steps are those of compose.render_scene (transform, blend-mode alpha, colour
match, Poisson, alpha composite, occlusion-aware masks), run on the background already cropped and
resized to the output size: no full-size canvas, no re-decoding of the photo or the fragments for
every image. A RenderCache holds the decoded fragments and resized backgrounds of one process;
entries are only ever added, never changed, so threads may share one.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from garbtui.core.atomic import atomic_write_bytes, atomic_write_text, encode_jpeg
from garbtui.core.compose.blend import alpha_composite, color_match, poisson_colors, ring_lab, shape_alpha
from garbtui.core.compose.fragment import Fragment, alpha_extent, load_fragment, transform_fragment
from garbtui.core.compose.occlusion import Layer, occlude, should_drop, visible_fraction
from garbtui.core.compose.render import RenderedObject, RenderResult
from garbtui.core.errors import InputError
from garbtui.core.generate.recipe import ImageRecord, ObjectRecord, Recipe
from garbtui.core.imageio import read_rgb
from garbtui.core.labels import mask_polygons
from garbtui.core.rle import coco_rle_encode
from garbtui.core.workspace import Workspace

IMAGES_DIR = "images"
LABELS_DIR = "labels"
RECIPES_DIR = "recipes"


class RenderCache:
    """Decoded fragments and resized background windows of one workspace, kept for the life of a process."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._fragments: dict[str, Fragment] = {}
        self._photos: dict[str, np.ndarray] = {}
        self._windows: dict[tuple, np.ndarray] = {}
        self._lock = threading.Lock()

    def fragment(self, crop_id: str) -> Fragment:
        frag = self._fragments.get(crop_id)
        if frag is None:
            frag = load_fragment(self.ws, crop_id)
            with self._lock:
                self._fragments.setdefault(crop_id, frag)
        return frag

    def background(self, recipe: Recipe) -> np.ndarray:
        """The recipe's window of its background at the output size (read-only; copy before drawing)."""
        key = (recipe.background_id, tuple(recipe.window), tuple(recipe.size))
        win = self._windows.get(key)
        if win is None:
            photo = self._photo(recipe.background_id)
            win = crop_resize(photo, recipe.window, recipe.size)
            win.flags.writeable = False
            with self._lock:
                self._windows.setdefault(key, win)
        return win

    def _photo(self, bg_id: str) -> np.ndarray:
        photo = self._photos.get(bg_id)
        if photo is None:
            if not (self.ws.background_dir(bg_id) / "meta.json").is_file():
                raise InputError(f"background {bg_id} does not exist in the workspace", where=str(self.ws.root))
            photo = read_rgb(self.ws.background_path(bg_id))
            with self._lock:
                self._photos.setdefault(bg_id, photo)
        return photo


def crop_resize(photo: np.ndarray, window: tuple[float, float, float, float], size: tuple[int, int]) -> np.ndarray:
    """The window (x0, y0, x1, y1, background pixels) of the photo resampled to size (w, h), one affine warp."""
    x0, y0, x1, y1 = window
    w, h = size
    sx, sy = w / (x1 - x0), h / (y1 - y0)
    if sx < 1.0 and sy < 1.0:
        # Area averaging when shrinking: no aliasing. Crop to whole pixels around the window first.
        ix0, iy0 = int(math.floor(x0)), int(math.floor(y0))
        ix1, iy1 = int(math.ceil(x1)), int(math.ceil(y1))
        if (ix0, iy0, ix1, iy1) == (x0, y0, x1, y1):
            return np.ascontiguousarray(cv2.resize(photo[iy0:iy1, ix0:ix1], (w, h), interpolation=cv2.INTER_AREA))
    m = np.array([[sx, 0.0, -x0 * sx + 0.5 * sx - 0.5], [0.0, sy, -y0 * sy + 0.5 * sy - 0.5]], dtype=np.float64)
    return cv2.warpAffine(photo, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def render_recipe(ws: Workspace, recipe: Recipe, cache: RenderCache | None = None) -> RenderResult:
    """Render one recipe in memory: deterministic, the same recipe and files give the same pixels."""
    cache = cache or RenderCache(ws)
    canvas = cache.background(recipe).copy()
    H, W = canvas.shape[:2]
    layers: list[Layer | None] = []
    infos: list[dict] = []
    for index, p in enumerate(recipe.placements):
        frag = cache.fragment(p.crop_id)
        if p.scale == "auto":
            raise InputError(f"recipe {recipe.name}: placement {index} has no numeric scale")
        info = {"index": index, "crop_id": p.crop_id, "label": frag.meta.label, "clipped": False, "reason": ""}
        infos.append(info)
        t = transform_fragment(frag.rgba, float(p.scale), p.rotation, p.flip)
        alpha = shape_alpha(t.alpha, p.blend)
        ext = alpha_extent(alpha > 0)
        if ext is None:
            info["reason"] = "too small to show a single pixel"
            layers.append(None)
            continue
        ex0, ey0, ex1, ey1 = ext
        alpha = alpha[ey0:ey1, ex0:ex1]
        rgb = t.rgb[ey0:ey1, ex0:ex1]
        h, w = alpha.shape
        ox = int(math.floor(p.x - w / 2.0 + 0.5))
        oy = int(math.floor(p.y + 0.5)) - h
        cx0, cy0, cx1, cy1 = max(0, ox), max(0, oy), min(W, ox + w), min(H, oy + h)
        if cx1 <= cx0 or cy1 <= cy0:
            info["reason"] = "entirely outside the image"
            layers.append(None)
            continue
        local_a = alpha[cy0 - oy:cy1 - oy, cx0 - ox:cx1 - ox]
        local_rgb = rgb[cy0 - oy:cy1 - oy, cx0 - ox:cx1 - ox]
        visible = local_a > 0
        own = int(np.count_nonzero(visible))
        if own == 0:
            info["reason"] = "its visible part is outside the image"
            layers.append(None)
            continue
        info["clipped"] = own < int(np.count_nonzero(alpha))
        if p.color_match:
            target = ring_lab(canvas, (ox, oy, ox + w, oy + h), alpha)
            local_rgb = color_match(local_rgb, local_a.astype(np.float32), target, frag.source_bg_lab)
        roi = canvas[cy0:cy1, cx0:cx1]
        if p.blend == "poisson":
            local_rgb = poisson_colors(roi, local_rgb, local_a)
        canvas[cy0:cy1, cx0:cx1] = alpha_composite(roi, local_rgb, local_a)
        layer = Layer(cx0, cy0, visible, own)
        occlude([lay for lay in layers if lay is not None], layer)
        layers.append(layer)
    objects = [_finish(info, layer, recipe.occlusion_drop, (W, H)) for info, layer in zip(infos, layers)]
    return RenderResult(canvas, objects, recipe.name, recipe.background_id)


def _finish(info: dict, layer: Layer | None, occlusion_drop: float, size: tuple[int, int]) -> RenderedObject:
    empty = np.zeros((0, 0), dtype=bool)
    if layer is None:
        return RenderedObject(info["index"], info["crop_id"], info["label"], (0, 0, 0, 0), empty, (0, 0), size,
                              0.0, True, info["reason"], info["clipped"])
    ext = alpha_extent(layer.mask)
    pixels = int(np.count_nonzero(layer.mask))
    frac = visible_fraction(layer)
    if ext is None:
        bbox, mask, offset = (0, 0, 0, 0), empty, (0, 0)
    else:
        ex0, ey0, ex1, ey1 = ext
        mask = np.ascontiguousarray(layer.mask[ey0:ey1, ex0:ex1])
        offset = (layer.x0 + ex0, layer.y0 + ey0)
        bbox = (offset[0], offset[1], layer.x0 + ex1, layer.y0 + ey1)
    dropped = should_drop(frac, occlusion_drop, pixels)
    reason = ("hidden by later fragments" if dropped else "")
    return RenderedObject(info["index"], info["crop_id"], info["label"], bbox, mask, offset, size, frac, dropped,
                          reason, info["clipped"])


# -- COCO RLE straight from a mask window -----------------------------------------------------------
def window_rle_counts(mask: np.ndarray, offset: tuple[int, int], size: tuple[int, int]) -> list[int]:
    """Uncompressed COCO RLE counts of a full-size (w, h) mask that is zero outside the window at offset.

    Column-major runs are computed on a full-height strip of the window's columns only; the empty
    columns before and after just lengthen the first and last zero runs.
    """
    w, h = size
    x0, y0 = offset
    mh, mw = mask.shape
    strip = np.zeros((h, mw), dtype=bool)
    strip[y0:y0 + mh] = mask
    counts = list(coco_rle_encode(strip)["counts"])
    counts[0] += x0 * h
    tail = (w - x0 - mw) * h
    if tail:
        if len(counts) % 2 == 1:  # the last run is a zero run
            counts[-1] += tail
        else:
            counts.append(tail)
    return counts


def compress_counts(counts: list[int]) -> str:
    """COCO's compressed RLE string (as pycocotools' rleToString): deltas from two runs back, 5-bit chunks."""
    out = bytearray()
    for i, c in enumerate(counts):
        x = int(c) - (int(counts[i - 2]) if i > 2 else 0)
        more = True
        while more:
            ch = x & 0x1F
            x >>= 5
            more = not ((x == 0 and not ch & 0x10) or (x == -1 and ch & 0x10))
            if more:
                ch |= 0x20
            out.append(ch + 48)
    return out.decode("ascii")


# -- one image's outputs ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageOutputs:
    """The encoded image, its YOLO label text and its record: everything written for one recipe."""

    jpeg: bytes
    yolo: str
    record: ImageRecord


def image_outputs(ws: Workspace, recipe: Recipe, categories: list[str], cache: RenderCache | None = None) -> ImageOutputs:
    """Render a recipe and encode what the dataset stores for it. Pure: same recipe and files, same bytes."""
    result = render_recipe(ws, recipe, cache)
    W, H = recipe.size
    class_of = {name: i for i, name in enumerate(categories)}
    lines, objects = [], []
    for obj in result.kept:
        if obj.label not in class_of:
            raise InputError(f"recipe {recipe.name}: label {obj.label!r} is not in the run's class list")
        x0, y0, x1, y1 = obj.bbox
        lines.append(f"{class_of[obj.label]} {(x0 + x1) / 2 / W:.6f} {(y0 + y1) / 2 / H:.6f} "
                     f"{(x1 - x0) / W:.6f} {(y1 - y0) / H:.6f}\n")
        counts = window_rle_counts(obj.mask_roi, obj.offset, (W, H))
        polys = [[(round(x, 2), round(y, 2)) for x, y in part] for part in mask_polygons(obj.mask_roi, obj.offset)]
        objects.append(ObjectRecord(
            label=obj.label, crop_id=obj.crop_id, placement_index=obj.placement_index, bbox=obj.bbox,
            area=obj.area, rle={"size": [H, W], "counts": compress_counts(counts)}, polygons=polys,
            visible_fraction=round(obj.visible_fraction, 4), clipped=obj.clipped,
        ))
    record = ImageRecord(
        recipe=recipe, image_file=f"{IMAGES_DIR}/{recipe.name}.jpg", label_file=f"{LABELS_DIR}/{recipe.name}.txt",
        width=W, height=H, objects=objects, dropped=len(result.objects) - len(result.kept),
    )
    return ImageOutputs(encode_jpeg(result.image, recipe.jpeg_quality), "".join(lines), record)


def write_outputs(out_dir: Path, outputs: ImageOutputs) -> None:
    """Write image, label, then the record: the record is the commit marker of the image."""
    out_dir = Path(out_dir)
    rec = outputs.record
    atomic_write_bytes(out_dir / rec.image_file, outputs.jpeg)
    atomic_write_text(out_dir / rec.label_file, outputs.yolo)
    rec.save(out_dir / RECIPES_DIR / f"{rec.recipe.name}.json")
