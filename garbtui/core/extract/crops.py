"""Extraction: one crop per annotated object, with a background margin, into the workspace.

Crop geometry (documented because tests recompute it independently): the region's bounds b are
clamped to the upright image (W x H); with margin m, mx = m * width(b), my = m * height(b), and
    x0 = max(0, floor(b.x0 - mx)), y0 = max(0, floor(b.y0 - my)),
    x1 = min(W, ceil(b.x1 + mx)),  y1 = min(H, ceil(b.y1 + my)).
Values within 1e-6 of an integer count as that integer, so float noise never adds a pixel.
"""

from __future__ import annotations

import io
import json
import math
import os
import threading
import zipfile
import zlib
from bisect import bisect_left
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from pydantic import ValidationError

from garbtui.core.errors import GarbError, InputError, Interrupted
from garbtui.core.extract.coco import parse_coco
from garbtui.core.extract.labelstudio import LabelConfig, detect_format, parse_labelstudio
from garbtui.core.extract.paths import PathResolver
from garbtui.core.extract.sources import ParsedExport, Skip, SourceItem, SourceRegion
from garbtui.core.text import MAX_LABEL_CHARS, clean_label, label_problem, printable
from garbtui.core.workspace.atomic import atomic_copy, atomic_write_png, atomic_write_text
from garbtui.core.workspace.ids import file_sha1, short_hash, slugify
from garbtui.core.workspace.imageio import ImageInfo, probe_image, read_bgr
from garbtui.core.workspace.jobs import ProgressFn, default_workers, run_items
from garbtui.core.workspace.jsonfile import export_max_bytes, parse_json, read_regular
from garbtui.core.workspace.models import MAX_COORD, BBox, CropMeta, ImageMeta, Region, SceneKind
from garbtui.core.workspace.regions import bounds, clamp_bbox, region_from_box
from garbtui.core.workspace.rle import coco_rle_decode, decode_ls_rle
from garbtui.core.workspace.store import Workspace

DEFAULT_MARGIN = 0.15
# Most threads that decode, cut and PNG-encode images at once (OpenCV releases the GIL), however many CPUs.
EXTRACT_THREADS = 4
# The same object annotated in two projects (or two tasks) of one photo: same label, boxes overlapping this much.
SAME_OBJECT_IOU = 0.7
_EPS = 1e-6
# What one bad object or image can raise besides our own errors; it becomes one skip line, never a crash.
_ITEM_ERRORS = (OSError, ValueError, UnicodeError, cv2.error, MemoryError, OverflowError)


@dataclass
class ExtractOptions:
    """How to extract: margin fraction, scene override, which annotations."""

    margin: float = DEFAULT_MARGIN
    scene: str | None = None
    annotations: str = "latest"
    predictions: bool = False


@dataclass
class ExtractReport:
    """What an extraction did, for the summary line and the exit code.

    `skipped` lists what was left out and why; `notes` what was done differently from the export and
    why (a label cleaned of control characters, an object already cut from another project): they do
    not make the run fail.
    """

    format: str = ""
    images_new: int = 0
    images_seen: int = 0
    crops_new: int = 0
    crops_existing: int = 0
    skipped: list[Skip] = field(default_factory=list)
    crop_ids: list[str] = field(default_factory=list)
    notes: list[Skip] = field(default_factory=list)

    def add(self, part: ExtractReport) -> None:
        """Fold one image's report into this one (a note said once is not repeated)."""
        self.images_new += part.images_new
        self.images_seen += part.images_seen
        self.crops_new += part.crops_new
        self.crops_existing += part.crops_existing
        self.skipped.extend(part.skipped)
        self.crop_ids.extend(part.crop_ids)
        known = {note.reason for note in self.notes}
        self.notes.extend(note for note in part.notes if note.reason not in known)


def load_export(
    path: Path, *, config: LabelConfig | None = None, options: ExtractOptions | None = None
) -> ParsedExport:
    """Read an export file (Label Studio JSON / JSON-MIN, COCO, or Label Studio's COCO zip) into SourceItems."""
    options = options or ExtractOptions()
    path = Path(path)
    data, where = read_export(path)
    try:
        fmt = detect_format(data)
    except InputError as exc:
        raise InputError(exc.message, where=str(path), field=exc.field) from None
    if fmt == "coco":
        return parse_coco(data, where=where, scene=options.scene)
    return parse_labelstudio(
        data, where=where, config=config, annotations=options.annotations, predictions=options.predictions
    )


def read_export(path: Path) -> tuple[Any, str]:
    """The parsed JSON of an export and the name skip lines give it.

    A zip is read as Label Studio downloads it: its `result.json` (the COCO export) or its one JSON
    file; a YOLO export zip (labels without image paths) is refused with what to export instead.
    Only a regular file is read, up to GARBTUI_MAX_EXPORT_MB, and so is the member of a zip.
    """
    cap = export_max_bytes()
    raw = read_regular(path, InputError, "export file", cap)
    if raw[:4] != b"PK\x03\x04":
        return parse_json(raw, InputError, str(path), "export file"), path.name
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(f"not a readable zip file: {exc}", where=str(path)) from None
    with archive:
        files = {info.filename: info for info in archive.infolist() if not info.is_dir()}
        member = files.get("result.json")
        if member is None:
            if "classes.txt" in files or any(name.startswith("labels/") for name in files):
                raise InputError("a YOLO export zip holds labels but no image paths; export the project as JSON, "
                                 "JSON-MIN or COCO", where=str(path))
            found = [info for name, info in files.items() if name.lower().endswith(".json") and "/" not in name]
            if len(found) != 1:
                raise InputError("a zip without result.json (Label Studio's COCO export) or one JSON export in it",
                                 where=str(path))
            member = found[0]
        where = f"{path}/{member.filename}"
        if member.file_size > cap:
            raise InputError(f"{member.filename} unpacks to {member.file_size} bytes, over the limit of {cap} "
                             "(GARBTUI_MAX_EXPORT_MB)", where=str(path))
        try:
            with archive.open(member) as handle:
                data = handle.read(cap + 1)
        # RuntimeError covers an encrypted member and, through its subclass, a compression method zipfile
        # lacks (deflate64): both are a zip we cannot read, said in one line.
        except (zipfile.BadZipFile, RuntimeError, OSError, zlib.error, EOFError) as exc:
            raise InputError(f"cannot read {member.filename} in the zip: {exc}", where=str(path)) from None
        if len(data) > cap:
            raise InputError(f"{member.filename} unpacks to more than {cap} bytes (GARBTUI_MAX_EXPORT_MB)",
                             where=str(path))
    return parse_json(data, InputError, where, "export file"), f"{path.name}/{member.filename}"


def extract(
    ws: Workspace,
    parsed: ParsedExport,
    resolver: PathResolver,
    options: ExtractOptions | None = None,
    progress: ProgressFn | None = None,
    workers: int | None = None,
) -> ExtractReport:
    """Cut every object of `parsed` into `ws`. Existing crops are left untouched (a re-run adds nothing).

    One bad reference, image or object is one skip; every other one is still extracted. Ctrl-C stops
    the run once the photos being cut are done, raising Interrupted with the report so far as `partial`.
    """
    options = options or ExtractOptions()
    report = ExtractReport(format=parsed.format, skipped=list(parsed.skipped))
    groups: dict[str, list[tuple[SourceItem, Path]]] = {}
    for item in parsed.items:
        try:
            path = resolver.resolve(item.image_ref)
            # Resolved, so two spellings of one file (a link, a/../a) are one image handled by one thread.
            key = os.path.realpath(path)
        except InputError as exc:
            report.skipped.append(Skip(item.where, exc.message, exc.field))
            continue
        except _ITEM_ERRORS as exc:  # a name the OS refuses (too long, undecodable)
            report.skipped.append(Skip(item.where, f"cannot use the image reference: {_reason(exc)}"))
            continue
        groups.setdefault(key, []).append((item, path))
    total = len(groups)
    if progress:
        progress(0, total, "")
    existing = sorted(ws.crop_ids())  # read once: each photo looks up its own crops in it
    stop = threading.Event()
    finished = 0

    def collect(key: str, part: ExtractReport) -> None:
        nonlocal finished
        report.add(part)
        finished += 1
        if progress:
            progress(finished, total, Path(key).name)

    keys = list(groups)
    try:
        run_items(lambda key: _extract_image_safely(ws, groups[key], options, existing, stop), keys,
                  max(1, workers or default_workers(EXTRACT_THREADS)), collect, stop)
    except Interrupted as exc:
        report.crop_ids.sort()
        raise Interrupted(exc.done, exc.total, report) from None
    report.crop_ids.sort()
    return report


def _reason(exc: BaseException) -> str:
    """One line for an unexpected per-item error (an OSError's own text, without its errno prefix)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, ValidationError):  # a value the workspace model refuses: its first complaint
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc']) or 'value'}: {first['msg']}"
    return f"{type(exc).__name__}: {exc}"


def _extract_image_safely(
    ws: Workspace, entries: list[tuple[SourceItem, Path]], options: ExtractOptions, existing: list[str],
    stop: threading.Event,
) -> ExtractReport:
    part = ExtractReport()
    try:
        _extract_image(ws, entries, options, part, existing, stop)
    except GarbError as exc:  # a write error too: each photo says so, a re-run with space again completes
        for item, path in entries:
            part.skipped.append(Skip(item.where, f"{path}: {exc.message}", exc.field))
    except _ITEM_ERRORS as exc:
        for item, path in entries:
            part.skipped.append(Skip(item.where, f"{path}: {_reason(exc)}"))
    return part


def _extract_image(
    ws: Workspace, entries: list[tuple[SourceItem, Path]], options: ExtractOptions, report: ExtractReport,
    existing: list[str], stop: threading.Event,
) -> None:
    path = entries[0][1]
    info = probe_image(path)
    digest = file_sha1(path)
    image_id = f"{slugify(path.stem, 40)}-{digest[:10]}"
    plans: list[tuple[SourceItem, _Object, str]] = []
    seen_crops: set[str] = set()
    for item, _ in entries:
        for obj in _objects(item, info, report):
            try:
                crop_id = _crop_id(image_id, item, obj)
            except _ITEM_ERRORS as exc:
                report.skipped.append(Skip(obj.where, f"cannot name the crop: {_reason(exc)}"))
                continue
            if crop_id in seen_crops:
                report.skipped.append(Skip(obj.where, "same object listed twice"))
                continue
            seen_crops.add(crop_id)
            plans.append((item, obj, crop_id))
    done = [p for p in plans if _crop_complete(ws, p[2])]
    done_ids = {p[2] for p in done}
    report.crop_ids.extend(done_ids)
    report.crops_existing += len(done)
    todo = _drop_duplicates(ws, image_id, [p for p in plans if p[2] not in done_ids], done, existing, options, report)
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
        if stop.is_set():
            return  # Ctrl-C: this photo's other crops are cut by the next run
        try:
            _store_crop(ws, crop_id, image_id, item, obj, bgr, info, options)
        except GarbError as exc:
            report.skipped.append(Skip(obj.where, exc.message, exc.field))
            continue
        except _ITEM_ERRORS as exc:
            report.skipped.append(Skip(obj.where, f"cannot store the crop: {_reason(exc)}"))
            continue
        report.crop_ids.append(crop_id)
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
        label = _usable_label(reg, report)
        if label is None:
            continue
        try:
            obj = _to_pixels(replace(reg, label=label), info)
        except InputError as exc:
            report.skipped.append(Skip(reg.where, exc.message, exc.field))
            continue
        except _ITEM_ERRORS as exc:
            report.skipped.append(Skip(reg.where, f"unusable region: {_reason(exc)}"))
            continue
        if obj is None:
            continue
        b = obj.region.bbox
        if b.width <= 0 or b.height <= 0:
            report.skipped.append(Skip(reg.where, "region is empty or lies wholly outside the image"))
            continue
        objs.append(obj)
    return _merge_pairs(objs)


def _usable_label(reg: SourceRegion, report: ExtractReport) -> str | None:
    """The region's label cleaned of control characters (a note says so), or None with a skip when none is left.

    A label becomes one line of classes.txt and a YOLO class id: a newline in it would shift every id."""
    label = clean_label(reg.label)
    problem = label_problem(label) if label else "is empty once control characters are removed"
    if problem:
        report.skipped.append(Skip(reg.where, f'label "{printable(reg.label[:MAX_LABEL_CHARS])}" {problem}'))
        return None
    if label != reg.label:
        report.notes.append(Skip(reg.where, f'label "{printable(reg.label)}" has control characters or spaces at its '
                                            f'ends; stored as "{label}"'))
    return label


def _drop_duplicates(
    ws: Workspace, image_id: str, todo: list[tuple[SourceItem, _Object, str]],
    done: list[tuple[SourceItem, _Object, str]], existing: list[str], options: ExtractOptions, report: ExtractReport,
) -> list[tuple[SourceItem, _Object, str]]:
    """Leave out an object already cut from another task or project of the same photo (same label, boxes
    overlapping SAME_OBJECT_IOU or more), in this run or an earlier one; a note names the crop kept."""
    if not todo:
        return todo
    # (crop id, label, box, source key, the item in this run: None for a crop already in the workspace)
    others: list[tuple[str, str, BBox, _SourceKey, SourceItem | None]] = [
        (crop_id, obj.label, obj.region.bbox, _source_key(item), item) for item, obj, crop_id in done]
    planned = {p[2] for p in todo} | {p[2] for p in done}
    slugs = {slugify(obj.label, 24) for _, obj, _ in todo}
    prefix = f"{image_id}-"
    for crop_id in existing[bisect_left(existing, prefix):]:
        if not crop_id.startswith(prefix):
            break
        # The label's slug is part of the id: only crops that may have the same label are read.
        if crop_id in planned or crop_id[len(prefix):].rsplit("-", 1)[0] not in slugs:
            continue
        try:
            meta = ws.load_crop_meta(crop_id)
        except GarbError:
            continue
        others.append((crop_id, meta.label, meta.region.bbox,
                       (meta.source_kind, meta.task_id, meta.annotation_id, meta.from_prediction), None))
    kept = []
    # Within one run an outline (polygon, brush) is kept rather than a box of the same object.
    for item, obj, crop_id in sorted(todo, key=lambda plan: plan[1].region.kind == "box"):
        key = _source_key(item)
        match = None
        for other_id, label, box, other_key, other_item in others:
            if label == obj.label and _may_merge(item, key, other_item, other_key, options):
                iou = _iou(box, obj.region.bbox)
                if iou >= SAME_OBJECT_IOU:
                    match = (other_id, iou)
                    break
        if match is not None:
            report.notes.append(Skip(obj.where, f"same object as crop {match[0]} (same label, boxes overlap "
                                                f"{match[1]:.2f}, from another task or project); not cut again"))
            continue
        kept.append((item, obj, crop_id))
        others.append((crop_id, obj.label, obj.region.bbox, key, item))
    return kept


_SourceKey = tuple[str, str | None, str | None, bool]


def _source_key(item: SourceItem) -> _SourceKey:
    """Which annotation an object comes from, as its crop's meta.json records it."""
    return item.source_kind, _stored(item.task_id), _stored(item.annotation_id), item.from_prediction


def _may_merge(item: SourceItem, key: _SourceKey, other: SourceItem | None, other_key: _SourceKey,
               options: ExtractOptions) -> bool:
    """Objects of one annotation are never merged (the annotator drew both); with every annotation asked
    for, neither are two annotators' objects on the same task. A crop from an earlier run is compared by
    what its meta records: task and annotation ids repeat across projects (task 1 of each), so only the
    second rule applies to it."""
    if other is item:
        return False
    if other is not None and key == other_key:
        return False
    return not (options.annotations == "all" and key[:2] == other_key[:2])


def _stored(value: str | None) -> str | None:
    """An export's own text (a path, a task id) as a workspace file keeps it: control characters and lone
    surrogates escaped, so it can be written as UTF-8 and printed safely."""
    return None if value is None else printable(value)


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
    if not all(math.isfinite(v * s) and abs(v * s) <= MAX_COORD for v, s in zip(numbers, [sx, sy] * len(numbers),
                                                                                 strict=False)):
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
        text = json.dumps(item.task, indent=2, ensure_ascii=False) + "\n"
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate somewhere in the task: JSON's \\u escapes keep it readable
            text = json.dumps(item.task, indent=2) + "\n"
        atomic_write_text(folder / "task.json", text)
    ImageMeta(
        id=image_id, file=name, source_path=printable(item.image_ref), source_kind=item.source_kind,
        task_id=_stored(item.task_id),
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
        id=crop_id, image_id=image_id, source_path=printable(item.image_ref), source_kind=item.source_kind,
        task_id=_stored(item.task_id), annotation_id=_stored(item.annotation_id),
        result_ids=[printable(r) for r in obj.result_ids],
        from_prediction=item.from_prediction, label=obj.label, origin_x=x0, origin_y=y0,
        crop_width=x1 - x0, crop_height=y1 - y0, image_width=info.width, image_height=info.height,
        region=obj.region, margin=options.margin, margin_px=margin_px,
        scene=_scene_kind(options.scene or item.scene), surface=item.surface or "unknown",
        bottom_row=box.y1,
    )
    if not (folder / "meta.json").exists():
        ws.save_meta(meta)
