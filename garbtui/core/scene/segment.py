"""Segment photos and backgrounds into surfaces: pick a backend, run it, write seg.json + seg.png.

Backends (`model` spec): `auto`, the model-free estimate (auto.py; no weights), or a SegFormer-style
ONNX export (an .onnx file, or a folder holding one with its config.json) run by onnxruntime
(segformer.py; `pip install 'garbtui[seg]'`). On a road photo with a trusted horizon the model-free
bottom-band detector runs in front of any model: the ego car's bonnet is a vehicle whatever the model
says (Cityscapes models were trained with it as void).

`background_surfaces` is what placement reads: the seg files when there are any, else the automatic
estimate made in memory (never written: a seg.json is something a person or a `segment` run decided).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from threading import Lock
from typing import Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from garbtui.core.errors import GarbError, InputError
from garbtui.core.scene.auto import detect_bottom_band, estimate_surfaces
from garbtui.core.scene.backgrounds import trusted_horizon
from garbtui.core.scene.surfaces import (
    GROUND_SURFACES,
    SURFACE_ID,
    Surfaces,
    load_seg_file,
    load_surfaces,
    save_surfaces,
)
from garbtui.core.workspace.imageio import read_rgb
from garbtui.core.workspace.models import BackgroundMeta, ImageMeta
from garbtui.core.workspace.store import FileStamp, Workspace

ItemKind = Literal["background", "image"]


class Segmenter(Protocol):
    """A backend: its name (stored in seg.json's source), its model path, and a per-photo surface map."""

    @property
    def name(self) -> str: ...

    @property
    def model(self) -> str | None: ...

    def segment(self, rgb: NDArray[np.uint8], horizon: float | None) -> NDArray[np.uint8]: ...


class AutoSegmenter:
    """The model-free estimate."""

    name = "auto"
    model: str | None = None

    def segment(self, rgb: NDArray[np.uint8], horizon: float | None) -> NDArray[np.uint8]:
        return estimate_surfaces(rgb, horizon)[0]


class OnnxSegmenter:
    """A SegFormer-style ONNX model, with the bottom-band (bonnet) detector in front of it on road frames."""

    name = "segformer-onnx"

    def __init__(self, path: Path, threads: int = 2) -> None:
        from garbtui.core.scene.segformer import SegformerOnnx

        self._net = SegformerOnnx(Path(path), threads=threads)

    @property
    def model(self) -> str | None:
        return self._net.model

    def segment(self, rgb: NDArray[np.uint8], horizon: float | None) -> NDArray[np.uint8]:
        labels = self._net.segment(rgb)
        if horizon is not None:
            band = detect_bottom_band(rgb)
            if band is not None:
                labels[np.arange(labels.shape[0])[:, None] >= band[None, :]] = SURFACE_ID["vehicle"]
        return labels


def open_segmenter(spec: str | Path, *, threads: int = 2) -> Segmenter:
    """`auto`, or a path to an .onnx file or a folder holding one. Raises InputError (field `model`)."""
    if str(spec).strip().lower() == "auto":
        return AutoSegmenter()
    return OnnxSegmenter(Path(spec), threads=threads)


@dataclass(frozen=True)
class SegmentOutcome:
    """What segment did to one photo."""

    kind: ItemKind
    item_id: str
    status: Literal["written", "kept", "failed"]
    message: str = ""
    ground: float = 0.0  # fraction of the photo that is ground
    seconds: float = 0.0


def _folder_and_meta(ws: Workspace, kind: ItemKind, item_id: str) -> tuple[Path, BackgroundMeta | ImageMeta]:
    if kind == "background":
        return ws.background_dir(item_id), ws.load_background_meta(item_id)
    return ws.image_dir(item_id), ws.load_image_meta(item_id)


def item_horizon(meta: BackgroundMeta | ImageMeta) -> float | None:
    """The horizon a segmenter may trust: a background's trusted horizon, a photo's typed one."""
    if isinstance(meta, BackgroundMeta):
        return trusted_horizon(meta)
    row = meta.horizon_row
    if meta.scene != "road" or meta.horizon_estimated or row is None or not (0 <= row < meta.height):
        return None
    return row


def segment_item(ws: Workspace, kind: ItemKind, item_id: str, segmenter: Segmenter, *,
                 force: bool = False) -> SegmentOutcome:
    """Segment one background or photo and write its seg.json + seg.png.

    A hand-made seg.json (the TUI's, or one written by hand) is kept unless `force`. A bad photo or meta
    is one failed outcome, never an exception; a broken model raises (it fails every photo alike).
    """
    start = time.perf_counter()
    try:
        folder, meta = _folder_and_meta(ws, kind, item_id)
        try:
            existing = load_seg_file(folder)
        except GarbError:
            existing = None  # a broken seg.json is replaced
        if existing is not None and existing.made_by_hand and not force:
            return SegmentOutcome(kind, item_id, "kept", "has a hand-made seg.json (force replaces it)")
        path = ws.background_path(item_id) if kind == "background" else ws.image_path(item_id)
        rgb = read_rgb(path)
        if rgb.shape[:2] != (meta.height, meta.width):
            return SegmentOutcome(kind, item_id, "failed", f"the photo is {rgb.shape[1]}x{rgb.shape[0]}, its meta says "
                                  f"{meta.width}x{meta.height}")
        labels = segmenter.segment(rgb, item_horizon(meta))
        save_surfaces(folder, labels, backend=segmenter.name, model=segmenter.model)
    except InputError as exc:
        if exc.field == "model":
            raise
        return SegmentOutcome(kind, item_id, "failed", str(exc))
    except GarbError as exc:
        return SegmentOutcome(kind, item_id, "failed", str(exc))
    ground = float(np.isin(labels, [SURFACE_ID[s] for s in GROUND_SURFACES]).mean())
    return SegmentOutcome(kind, item_id, "written", "", ground, time.perf_counter() - start)


# -- what placement reads ---------------------------------------------------------------------------
_AUTO_CACHE: OrderedDict[tuple[str, FileStamp | None, float | None], NDArray[np.uint8]] = OrderedDict()
_AUTO_CACHE_SIZE = 8  # photo-sized uint8 maps (~1 MB each at 1280x720)
_AUTO_LOCK = Lock()


def background_surfaces(ws: Workspace, meta: BackgroundMeta) -> Surfaces:
    """The background's surfaces: its seg.json / seg.png, else the automatic estimate (kept in a small cache
    keyed on the photo's file stamp and the horizon, so a TUI or a run estimates each photo once)."""
    folder = ws.background_dir(meta.id)
    found = load_surfaces(folder, meta.width, meta.height)
    if found is not None:
        return found
    path = ws.background_path(meta.id)
    horizon = trusted_horizon(meta)
    key = (str(path), FileStamp.of(path), horizon)
    with _AUTO_LOCK:
        labels = _AUTO_CACHE.get(key)
    if labels is None:
        rgb = read_rgb(path)
        if rgb.shape[:2] != (meta.height, meta.width):
            raise InputError(f"the photo is {rgb.shape[1]}x{rgb.shape[0]}, its meta says {meta.width}x{meta.height}",
                             where=str(path), field="backgrounds")
        labels = estimate_surfaces(rgb, horizon)[0]
        with _AUTO_LOCK:
            _AUTO_CACHE[key] = labels
            while len(_AUTO_CACHE) > _AUTO_CACHE_SIZE:
                _AUTO_CACHE.popitem(last=False)
    return Surfaces(labels, GROUND_SURFACES, "auto", None)
