"""Extraction: one crop per annotated object, with a background margin, into the workspace.

Crop geometry (documented because tests recompute it independently): the region's bounds b are
clamped to the upright image (W x H); with margin m, mx = m * width(b), my = m * height(b), and
    x0 = max(0, floor(b.x0 - mx)), y0 = max(0, floor(b.y0 - my)),
    x1 = min(W, ceil(b.x1 + mx)),  y1 = min(H, ceil(b.y1 + my)).
Values within 1e-6 of an integer count as that integer, so float noise never adds a pixel.
"""

from __future__ import annotations

import json
import math
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from garbtui.core.errors import GarbError, InputError
from garbtui.core.extract.coco import parse_coco
from garbtui.core.extract.labelstudio import LabelConfig, detect_format, parse_labelstudio
from garbtui.core.extract.paths import PathResolver
from garbtui.core.extract.sources import ParsedExport, Skip, SourceItem, SourceRegion
from garbtui.core.workspace.atomic import atomic_copy, atomic_write_png, atomic_write_text
from garbtui.core.workspace.ids import file_sha1, short_hash, slugify
from garbtui.core.workspace.imageio import ImageInfo, probe_image, read_bgr
from garbtui.core.workspace.jobs import ProgressFn, default_workers
from garbtui.core.workspace.jsonfile import read_json
from garbtui.core.workspace.models import BBox, CropMeta, ImageMeta, Region, SceneKind
from garbtui.core.workspace.regions import bounds, clamp_bbox, region_from_box
from garbtui.core.workspace.rle import coco_rle_decode, decode_ls_rle
from garbtui.core.workspace.store import Workspace

DEFAULT_MARGIN = 0.15
# Most threads that decode, cut and PNG-encode images at once (OpenCV releases the GIL), however many CPUs.
EXTRACT_THREADS = 4
_EPS = 1e-6


@dataclass
class ExtractOptions:
    """How to extract: margin fraction, scene override, which annotations."""

    margin: float = DEFAULT_MARGIN
    scene: str | None = None
    annotations: str = "latest"
    predictions: bool = False


@dataclass
class ExtractReport:
    """What an extraction did, for the summary line and the exit code."""

    format: str = ""
    images_new: int = 0
    images_seen: int = 0
    crops_new: int = 0
    crops_existing: int = 0
    skipped: list[Skip] = field(default_factory=list)
    crop_ids: list[str] = field(default_factory=list)


def load_export(
    path: Path, *, config: LabelConfig | None = None, options: ExtractOptions | None = None
) -> ParsedExport:
    """Read an export file (Label Studio JSON / JSON-MIN, or COCO) into SourceItems."""
    options = options or ExtractOptions()
    path = Path(path)
    data = read_json(path, InputError, "export file")
    try:
        fmt = detect_format(data)
    except InputError as exc:
        raise InputError(exc.message, where=str(path), field=exc.field) from None
    if fmt == "coco":
        return parse_coco(data, where=path.name, scene=options.scene)
    return parse_labelstudio(
        data, where=path.name, config=config, annotations=options.annotations, predictions=options.predictions
    )


def extract(
    ws: Workspace,
    parsed: ParsedExport,
    resolver: PathResolver,
    options: ExtractOptions | None = None,
    progress: ProgressFn | None = None,
    workers: int | None = None,
) -> ExtractReport:
    """Cut every object of `parsed` into `ws`. Existing crops are left untouched (a re-run adds nothing)."""
    options = options or ExtractOptions()
    report = ExtractReport(format=parsed.format, skipped=list(parsed.skipped))
    groups: dict[str, list[tuple[SourceItem, Path]]] = {}
    for item in parsed.items:
        try:
            path = resolver.resolve(item.image_ref)
        except InputError as exc:
            report.skipped.append(Skip(item.where, exc.message, exc.field))
            continue
        # Resolved, so two spellings of one file (a link, a/../a) are one image handled by one thread.
        groups.setdefault(str(path.resolve()), []).append((item, path))
    total = len(groups)
    if progress:
        progress(0, total, "")
    # Images are independent: decode, cut and PNG-encode them on a few threads (OpenCV releases the GIL).
    with ThreadPoolExecutor(max_workers=max(1, workers or default_workers(EXTRACT_THREADS))) as pool:
        futures = {pool.submit(_extract_image_safely, ws, entries, options): key for key, entries in groups.items()}
        for n, future in enumerate(as_completed(futures), start=1):
            part = future.result()
            report.images_new += part.images_new
            report.images_seen += part.images_seen
            report.crops_new += part.crops_new
            report.crops_existing += part.crops_existing
            report.skipped.extend(part.skipped)
            report.crop_ids.extend(part.crop_ids)
            if progress:
                progress(n, total, Path(futures[future]).name)
    report.crop_ids.sort()
    return report


def _extract_image_safely(
    ws: Workspace, entries: list[tuple[SourceItem, Path]], options: ExtractOptions
) -> ExtractReport:
    part = ExtractReport()
    try:
        _extract_image(ws, entries, options, part, set())
    except GarbError as exc:
        for item, path in entries:
            part.skipped.append(Skip(item.where, f"{path}: {exc.message}", exc.field))
    return part


def _extract_image(
    ws: Workspace, entries: list[tuple[SourceItem, Path]], options: ExtractOptions, report: ExtractReport,
    seen_crops: set[str],
) -> None:
    path = entries[0][1]
    info = probe_image(path)
    digest = file_sha1(path)
    image_id = f"{slugify(path.stem, 40)}-{digest[:10]}"
    plans = []
    for item, _ in entries:
        for obj in _objects(item, info, report):
            crop_id = _crop_id(image_id, item, obj)
            if crop_id in seen_crops:
                report.skipped.append(Skip(obj.where, "same object listed twice"))
                continue
            seen_crops.add(crop_id)
            plans.append((item, obj, crop_id))
    todo = [p for p in plans if not _crop_complete(ws, p[2])]
    report.crop_ids.extend(p[2] for p in plans)
    report.crops_existing += len(plans) - len(todo)
    first = entries[0][0]
    image_is_new = not (ws.image_dir(image_id) / "meta.json").exists()
    if not todo and not image_is_new:
        report.images_seen += 1
        return
    bgr = read_bgr(path)  # kept in OpenCV's order end to end: no colour conversions
    if bgr.shape[:2] != (info.height, info.width):
        raise InputError(f"decoded size {bgr.shape[1]}x{bgr.shape[0]} differs from header {info.width}x{info.height}")
    _store_image(ws, image_id, path, info, bgr, first, options, digest)
    report.images_new += int(image_is_new)
    report.images_seen += int(not image_is_new)
    for item, obj, crop_id in todo:
        _store_crop(ws, crop_id, image_id, item, obj, bgr, info, options)
        report.crops_new += 1


@dataclass
class _Object:
    """One object in upright image pixels, ready to cut."""

    label: str
    region: Region
    result_ids: list[str]
    mask: NDArray[np.bool_] | None  # full-image bool mask for brush regions
    where: str


def _objects(item: SourceItem, info: ImageInfo, report: ExtractReport) -> list[_Object]:
    """Convert regions to pixels, skip empty ones, and merge a box with the polygon/brush of the same object."""
    objs: list[_Object] = []
    for reg in item.regions:
        try:
            obj = _to_pixels(reg, info)
        except InputError as exc:
            report.skipped.append(Skip(reg.where, exc.message, exc.field))
            continue
        if obj is None:
            continue
        b = obj.region.bbox
        if b.width <= 0 or b.height <= 0:
            report.skipped.append(Skip(reg.where, "region is empty or lies wholly outside the image"))
            continue
        objs.append(obj)
    return _merge_pairs(objs)


def _scale(reg: SourceRegion, info: ImageInfo) -> tuple[float, float]:
    if reg.units == "percent":
        return info.width / 100.0, info.height / 100.0
    if reg.declared_size and reg.declared_size[0] > 0 and reg.declared_size[1] > 0:
        return info.width / reg.declared_size[0], info.height / reg.declared_size[1]
    return 1.0, 1.0


def _to_pixels(reg: SourceRegion, info: ImageInfo) -> _Object | None:
    W, H = info.width, info.height
    sx, sy = _scale(reg, info)
    # Huge but finite numbers in an export overflow to infinity once scaled: refuse them here, clearly.
    numbers = list(reg.box or ()) + [v for part in reg.parts or [] for p in part for v in p]
    if not all(math.isfinite(v * s) for v, s in zip(numbers, [sx, sy] * len(numbers), strict=False)):
        raise InputError("coordinates too large to be in the image")
    if reg.kind == "box" and reg.box is not None:
        x, y, w, h = reg.box
        if w <= 0 or h <= 0:
            raise InputError(f"box with non-positive size {w} x {h}")
        # Rotation turns the box around its top-left corner in the image's own pixel space.
        region = region_from_box(x * sx, y * sy, w * sx, h * sy, reg.rotation % 360.0, W, H)
        return _Object(reg.label, region, reg.result_ids, None, reg.where)
    if reg.kind == "polygon" and reg.parts:
        parts = [[(px * sx, py * sy) for px, py in part] for part in reg.parts]
        raw = bounds([p for part in parts for p in part])
        box = clamp_bbox(raw, W, H)
        largest = max(parts, key=lambda pts: abs(_area(pts)))
        region = Region(kind="polygon", bbox=box, points=largest, parts=parts if len(parts) > 1 else None,
                        clamped=box != raw)
        return _Object(reg.label, region, reg.result_ids, None, reg.where)
    if reg.kind == "brush":
        mask = _brush_mask(reg, info)
        ys, xs = np.nonzero(mask)
        if xs.size == 0:
            raise InputError("brush mask is empty")
        box = BBox(x0=float(xs.min()), y0=float(ys.min()), x1=float(xs.max() + 1), y1=float(ys.max() + 1))
        return _Object(reg.label, Region(kind="brush", bbox=box, mask_file="mask.png"), reg.result_ids, mask, reg.where)
    raise InputError(f"region of kind {reg.kind} has no geometry")


def _brush_mask(reg: SourceRegion, info: ImageInfo) -> NDArray[np.bool_]:
    if reg.brush_rle is not None:
        w, h = reg.declared_size or (info.width, info.height)
        rgba = decode_ls_rle(reg.brush_rle, w, h)
        # Painted strokes have soft edges (alpha 1-255): the object is where alpha is at least half.
        mask = rgba[:, :, 3] >= 128
    elif reg.coco_rle is not None:
        mask = coco_rle_decode(reg.coco_rle)
    else:
        raise InputError("brush region without a mask")
    if mask.shape != (info.height, info.width):
        mask = np.asarray(cv2.resize(mask.astype(np.uint8), (info.width, info.height), interpolation=cv2.INTER_NEAREST)) > 0
    return mask


def _area(points: list[tuple[float, float]]) -> float:
    return 0.5 * sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1], strict=True))


def _iou(a: BBox, b: BBox) -> float:
    ix = max(0.0, min(a.x1, b.x1) - max(a.x0, b.x0))
    iy = max(0.0, min(a.y1, b.y1) - max(a.y0, b.y0))
    inter = ix * iy
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union > 0 else 0.0


def _merge_pairs(objs: list[_Object]) -> list[_Object]:
    """A box and an outline of the same label drawn around the same thing are one object (outline wins)."""
    outlines = [o for o in objs if o.region.kind != "box"]
    boxes = [o for o in objs if o.region.kind == "box"]
    used: set[int] = set()
    for outline in outlines:
        best, best_iou = None, 0.5
        for i, box in enumerate(boxes):
            if i in used or box.label != outline.label or box.region.rotation:
                continue
            iou = _iou(box.region.bbox, outline.region.bbox)
            if iou >= best_iou:
                best, best_iou = i, iou
        if best is not None:
            used.add(best)
            outline.result_ids = sorted(set(outline.result_ids) | set(boxes[best].result_ids))
    return [o for o in objs if o.region.kind != "box" or boxes.index(o) not in used]


def _crop_id(image_id: str, item: SourceItem, obj: _Object) -> str:
    # Keyed on what the object is, not on export-specific result ids, so the JSON and JSON-MIN
    # exports of one project give the same crops and a re-run or re-export adds nothing twice.
    b = obj.region.bbox
    geometry = f"{obj.region.kind}:{b.x0:.1f},{b.y0:.1f},{b.x1:.1f},{b.y1:.1f}"
    digest = short_hash(item.source_kind, item.annotation_id, item.from_prediction, obj.label, geometry)
    return f"{image_id}-{slugify(obj.label, 24)}-{digest}"


def _crop_complete(ws: Workspace, crop_id: str) -> bool:
    d = ws.crop_dir(crop_id)
    return (d / "raw.png").is_file() and (d / "meta.json").is_file()


def _floor(v: float) -> int:
    return math.floor(v + _EPS)


def _ceil(v: float) -> int:
    return math.ceil(v - _EPS)


def crop_window(box: BBox, margin: float, width: int, height: int) -> tuple[int, int, int, int]:
    """The crop rectangle (x0, y0, x1, y1) for a region's bounds and a margin fraction (see module doc)."""
    mx, my = margin * box.width, margin * box.height
    x0 = max(0, _floor(box.x0 - mx))
    y0 = max(0, _floor(box.y0 - my))
    x1 = min(width, _ceil(box.x1 + mx))
    y1 = min(height, _ceil(box.y1 + my))
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)


def _scene_kind(scene: str | None) -> SceneKind:
    """A scene kind from an export or an option: road, front, or unknown for anything else."""
    return "road" if scene == "road" else "front" if scene == "front" else "unknown"


def _store_image(
    ws: Workspace, image_id: str, path: Path, info: ImageInfo, bgr: NDArray[np.uint8], item: SourceItem,
    options: ExtractOptions, digest: str,
) -> None:
    folder = ws.image_dir(image_id)
    meta_path = folder / "meta.json"
    kind = _scene_kind(options.scene or item.scene)
    surface = item.surface or "unknown"
    if meta_path.exists():
        def fill_unknown(meta: ImageMeta) -> None:
            """A scene kind or surface the photo did not have yet comes from this export (or the options)."""
            if meta.scene == "unknown" and kind != "unknown":
                meta.scene = kind
            if meta.surface == "unknown" and surface != "unknown":
                meta.surface = surface

        ws.update_meta(ImageMeta, image_id, fill_unknown)
        return
    copied = info.orientation == 1 and info.format in ("JPEG", "PNG") and not info.has_alpha
    if copied:
        name = "image.jpg" if info.format == "JPEG" else "image.png"
        if not (folder / name).exists():
            atomic_copy(path, folder / name)
    else:
        # The stored photo is upright and opaque, as coordinates expect: rotated or odd files are re-encoded.
        name = "image.png"
        if not (folder / name).exists():
            atomic_write_png(folder / name, bgr, compression=1, bgr=True, fast=True)
    if not (folder / "task.json").exists():
        atomic_write_text(folder / "task.json", json.dumps(item.task, indent=2, ensure_ascii=False) + "\n")
    ImageMeta(
        id=image_id, file=name, source_path=item.image_ref, source_kind=item.source_kind, task_id=item.task_id,
        width=info.width, height=info.height, exif_orientation=info.orientation,
        file_sha1=digest if copied else file_sha1(folder / name),
        scene=kind, surface=surface,
    ).save(meta_path)


def _store_crop(
    ws: Workspace, crop_id: str, image_id: str, item: SourceItem, obj: _Object, bgr: NDArray[np.uint8], info: ImageInfo,
    options: ExtractOptions,
) -> None:
    box = obj.region.bbox
    x0, y0, x1, y1 = crop_window(box, options.margin, info.width, info.height)
    crop = np.ascontiguousarray(bgr[y0:y1, x0:x1])
    folder = ws.crop_dir(crop_id)
    if obj.mask is not None and not (folder / "mask.png").exists():
        atomic_write_png(folder / "mask.png", (obj.mask[y0:y1, x0:x1].astype(np.uint8) * 255), compression=1)
    ws.write_raw(crop_id, crop, bgr=True)
    margin_px = (
        max(0, _floor(box.x0) - x0), max(0, _floor(box.y0) - y0),
        max(0, x1 - _ceil(box.x1)), max(0, y1 - _ceil(box.y1)),
    )
    meta = CropMeta(
        id=crop_id, image_id=image_id, source_path=item.image_ref, source_kind=item.source_kind,
        task_id=item.task_id, annotation_id=item.annotation_id, result_ids=obj.result_ids,
        from_prediction=item.from_prediction, label=obj.label, origin_x=x0, origin_y=y0,
        crop_width=x1 - x0, crop_height=y1 - y0, image_width=info.width, image_height=info.height,
        region=obj.region, margin=options.margin, margin_px=margin_px,
        scene=_scene_kind(options.scene or item.scene), surface=item.surface or "unknown",
        bottom_row=box.y1,
    )
    if not (folder / "meta.json").exists():
        ws.save_meta(meta)
