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
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from garbtui.core.compose.fragment import (
    Fragment,
    Transformed,
    load_fragment,
    premultiply,
    transform_premultiplied,
)
from garbtui.core.compose.look import look_of
from garbtui.core.compose.occlusion import Layer
from garbtui.core.compose.render import PlacementInfo, RenderResult, composite_placement, finish_object
from garbtui.core.compose.texture import jpeg_quality
from garbtui.core.errors import InputError
from garbtui.core.export.dataset import image_path, label_files
from garbtui.core.export.objects import MIN_VISIBLE_SIDE, ImageLabels, label_objects
from garbtui.core.export.yolo import YoloMode
from garbtui.core.generate.recipe import ImageRecord, Recipe
from garbtui.core.workspace.arrays import as_u8
from garbtui.core.workspace.atomic import atomic_write_bytes, atomic_write_text, encode_jpeg
from garbtui.core.workspace.imageio import read_rgb
from garbtui.core.workspace.store import FileStamp, Workspace

RECIPES_DIR = "recipes"


PREMULTIPLIED_BUDGET = 512 * 2**20  # bytes of float32 premultiplied fragments kept per process
# (crop id, proc.png's stamp, flipped) and (background id, photo's stamp, window, output size).
# A version is a FileStamp for files read from the workspace, a content key for blobs a Dask worker was sent.
Version = FileStamp | str | None
PremultipliedKey = tuple[str, object, bool]
WindowKey = tuple[str, Version, tuple[float, float, float, float], tuple[int, int]]


class RenderCache:
    """Decoded fragments and resized background windows of one workspace, kept for the life of a process.

    Entries follow the files: a proc.png or photo saved again (new inode, mtime or size) is read again,
    so a long-lived Dask worker never renders a stale cutout. Premultiplied float copies of the
    fragments (what every transform starts from) are kept within PREMULTIPLIED_BUDGET bytes, least
    recently used first out.
    """

    def __init__(self, ws: Workspace | None) -> None:
        self.ws = ws  # None for a cache fed from memory (a Dask worker: distributed.BlobCache)
        self._fragments: dict[str, Fragment] = {}
        self._photos: dict[str, tuple[Version, NDArray[np.uint8]]] = {}
        self._photo_paths: dict[str, Path] = {}
        self._qualities: dict[str, int | None] = {}
        self._windows: dict[WindowKey, NDArray[np.uint8]] = {}
        self._proc_paths: dict[str, Path] = {}
        self._premultiplied: OrderedDict[PremultipliedKey, NDArray[np.float32]] = OrderedDict()
        self._pm_bytes = 0
        self._lock = threading.Lock()

    def workspace(self) -> Workspace:
        if self.ws is None:
            raise InputError("this render cache reads no workspace")
        return self.ws

    def fragment(self, crop_id: str) -> Fragment:
        ws = self.workspace()
        path = self._proc_paths.get(crop_id)
        if path is None:
            path = self._proc_paths[crop_id] = ws.proc_path(crop_id)  # resolves the id once
        frag = self._fragments.get(crop_id)
        if frag is None or frag.stamp != FileStamp.of(path):
            frag = load_fragment(ws, crop_id)
            with self._lock:
                self._fragments[crop_id] = frag
        return frag

    def version(self, frag: Fragment) -> object:
        """What tells two versions of a fragment apart in the premultiplied cache (proc.png's stamp)."""
        return frag.stamp

    def premultiplied(self, frag: Fragment, flip: bool = False) -> NDArray[np.float32]:
        """The fragment's RGBA (mirrored with flip) as float32, colour premultiplied by alpha, as transform_fragment
        makes it."""
        key: PremultipliedKey = (frag.crop_id, self.version(frag), flip)
        with self._lock:
            pm = self._premultiplied.get(key)
            if pm is not None:
                self._premultiplied.move_to_end(key)
                return pm
        pm = premultiply(frag.rgba, flip)
        pm.flags.writeable = False
        with self._lock:
            self._premultiplied[key] = pm
            self._pm_bytes += pm.nbytes
            while self._pm_bytes > PREMULTIPLIED_BUDGET and len(self._premultiplied) > 1:
                _, old = self._premultiplied.popitem(last=False)
                self._pm_bytes -= old.nbytes
        return pm

    def background(self, recipe: Recipe) -> NDArray[np.uint8]:
        """The recipe's window of its background at the output size (read-only; copy before drawing)."""
        stamp, photo = self._photo(recipe.background_id)
        key: WindowKey = (recipe.background_id, stamp, recipe.window, recipe.size)
        win = self._windows.get(key)
        if win is None:
            win = crop_resize(photo, recipe.window, recipe.size)
            win.flags.writeable = False
            with self._lock:
                self._windows[key] = win
        return win

    def photo_quality(self, bg_id: str) -> int | None:
        """The JPEG quality of the background's photo file (None: not a JPEG), read once."""
        if bg_id not in self._qualities:
            self._qualities[bg_id] = jpeg_quality(self.workspace().background_path(bg_id))
        return self._qualities[bg_id]

    def _photo(self, bg_id: str) -> tuple[Version, NDArray[np.uint8]]:
        ws = self.workspace()
        path = self._photo_paths.get(bg_id)
        if path is None:
            if not (ws.background_dir(bg_id) / "meta.json").is_file():
                raise InputError(f"background {bg_id} does not exist in the workspace", where=str(ws.root))
            path = self._photo_paths[bg_id] = ws.background_path(bg_id)
        stamp = FileStamp.of(path)
        got = self._photos.get(bg_id)
        if got is None or got[0] != stamp:
            got = (stamp, read_rgb(path))
            with self._lock:
                self._photos[bg_id] = got
                self._windows = {k: v for k, v in self._windows.items() if k[0] != bg_id or k[1] == stamp}
        return got


def transform_cached(cache: RenderCache, frag: Fragment, scale: float, rotation: float = 0.0,
                     flip: bool = False) -> Transformed:
    """compose.fragment.transform_fragment, starting from the cached premultiplied fragment."""
    return transform_premultiplied(cache.premultiplied(frag, flip), scale, rotation)


def crop_resize(photo: NDArray[np.uint8], window: tuple[float, float, float, float], size: tuple[int, int]
                ) -> NDArray[np.uint8]:
    """The window (x0, y0, x1, y1, background pixels) of the photo resampled to size (w, h), one affine warp."""
    x0, y0, x1, y1 = window
    w, h = size
    sx, sy = w / (x1 - x0), h / (y1 - y0)
    if sx < 1.0 and sy < 1.0:
        # Area averaging when shrinking: no aliasing. Crop to whole pixels around the window first.
        ix0, iy0 = int(math.floor(x0)), int(math.floor(y0))
        ix1, iy1 = int(math.ceil(x1)), int(math.ceil(y1))
        if (ix0, iy0, ix1, iy1) == (x0, y0, x1, y1):
            return np.ascontiguousarray(as_u8(cv2.resize(photo[iy0:iy1, ix0:ix1], (w, h), interpolation=cv2.INTER_AREA)))
    m = np.array([[sx, 0.0, -x0 * sx + 0.5 * sx - 0.5], [0.0, sy, -y0 * sy + 0.5 * sy - 0.5]], dtype=np.float64)
    return as_u8(cv2.warpAffine(photo, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))


def render_recipe(ws: Workspace | None, recipe: Recipe, cache: RenderCache | None = None) -> RenderResult:
    """Render one recipe in memory: deterministic, the same recipe and files give the same pixels."""
    cache = cache or RenderCache(ws)
    background = cache.background(recipe)
    # Measured once per cached background window (compose/look.py); a window at the photo's own size keeps its
    # JPEG grid, which the pasted pixels are then recompressed on.
    x0, y0, x1, y1 = recipe.window
    native = (x1 - x0, y1 - y0) == recipe.size and x0 == int(x0) and y0 == int(y0)
    look = look_of(background, meta=recipe, quality=cache.photo_quality(recipe.background_id) if native else None,
                   grid=(-int(x0), -int(y0)))
    canvas = background.copy()
    H, W = canvas.shape[:2]
    layers: list[Layer | None] = []
    infos: list[PlacementInfo] = []
    for index, p in enumerate(recipe.placements):
        frag = cache.fragment(p.crop_id)
        if p.scale == "auto":
            raise InputError(f"recipe {recipe.name}: placement {index + 1} has no numeric scale")
        info = PlacementInfo(index, p.crop_id, frag.meta.label)
        infos.append(info)
        t = transform_cached(cache, frag, float(p.scale), p.rotation, p.flip)
        layers.append(composite_placement(canvas, layers, t, p, p.x, p.y, frag.source, info, look=look))
    objects = [finish_object(info, layer, recipe.occlusion_drop, (W, H), canvas=canvas)
               for info, layer in zip(infos, layers, strict=True)]
    return RenderResult(canvas, objects, recipe.name, recipe.background_id)


# -- one image's outputs ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageOutputs:
    """Everything written for one recipe, already encoded (so moving it between processes costs only bytes)."""

    name: str
    image_file: str
    jpeg: bytes
    labels: tuple[tuple[str, str], ...]  # (relative path, text) of each YOLO label file
    record_json: str  # the ImageRecord, compact JSON

    @property
    def record(self) -> ImageRecord:
        return ImageRecord.model_validate_json(self.record_json)


@dataclass(frozen=True)
class LabelSpec:
    """What decides an image's label files besides its render: the class list and the YOLO flavour."""

    categories: tuple[str, ...]
    yolo: YoloMode = "both"


def image_outputs(ws: Workspace | None, recipe: Recipe, spec: LabelSpec, cache: RenderCache | None = None
                  ) -> ImageOutputs:
    """Render a recipe and encode what the dataset stores for it. Pure: same recipe and files, same bytes."""
    if cache is None:
        if ws is None:
            raise ValueError("image_outputs needs a workspace or a cache")
        cache = RenderCache(ws)
    result = render_recipe(cache.ws, recipe, cache)
    W, H = recipe.size
    known = set(spec.categories)
    for obj in result.kept:
        if obj.label not in known:
            raise InputError(f"recipe {recipe.name}: label {obj.label!r} is not in the run's class list")
    objects, drops = label_objects(result.objects, MIN_VISIBLE_SIDE)
    image_file = image_path(recipe.split, recipe.name)
    image = ImageLabels(image_file, W, H, objects, recipe.split)
    files = label_files(image, recipe.name, spec.categories, spec.yolo)
    record = ImageRecord(
        recipe=recipe, image_file=image_file, label_file=next(iter(files)), width=W, height=H, objects=objects,
        dropped=drops.total, drops=drops.as_dict(),
    )
    return ImageOutputs(recipe.name, image_file, encode_jpeg(result.image, recipe.jpeg_quality), tuple(files.items()),
                        record.model_dump_json() + "\n")


def record_file(name: str) -> str:
    return f"{RECIPES_DIR}/{name}.json"


def write_outputs(out_dir: Path, outputs: ImageOutputs) -> None:
    """Write image, labels, then the record: the record is the commit marker of the image."""
    out_dir = Path(out_dir)
    atomic_write_bytes(out_dir / outputs.image_file, outputs.jpeg)
    for path, text in outputs.labels:
        atomic_write_text(out_dir / path, text)
    atomic_write_text(out_dir / record_file(outputs.name), outputs.record_json)
