"""Labels of one rendered scene: COCO instances (box + RLE), YOLO detect and segment, Label Studio predictions.

Layout written by write_scene_labels into `out_dir` (for image `render.jpg`):

    coco.json                 COCO instances: one image, box [x, y, w, h] = extent of the visible mask,
                              segmentation = compressed RLE of the visible mask, area = its pixel count
    yolo/classes.txt          class names, one per line, index = line number
    yolo/detect/render.txt    `cls cx cy w h` normalised to 0..1
    yolo/segment/render.txt   `cls x1 y1 x2 y2 ...` normalised polygon (parts joined as Ultralytics does)
    labelstudio.json          one task with `predictions`: a rectangle and polygon(s) per object, in percent

Boxes and RLE masks are exact (pixel-for-pixel the visible object); polygons are outlines of the
same mask through boundary pixel centres, so they sit up to half a pixel inside it.
Dropped objects (hidden beyond the scene's occlusion threshold) are in none of the files.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from garbtui import __version__
from garbtui.core.compose.render import RenderedObject, RenderResult
from garbtui.core.errors import GarbError
from garbtui.core.workspace.atomic import atomic_write_text
from garbtui.core.workspace.store import Workspace

MIN_PART_AREA = 4.0  # outline parts smaller than this (px²) are slivers left by occlusion: not worth a polygon


@dataclass(frozen=True)
class LabelStudioNames:
    """Control names of the Label Studio config the predictions are for (defaults: the TACO sample config)."""

    image: str = "image"
    box: str = "box"
    polygon: str = "outline"


DEFAULT_LS_NAMES = LabelStudioNames()


def workspace_categories(ws: Workspace) -> list[str]:
    """Every label of the workspace's crops, sorted: stable class ids across the scenes of one workspace."""
    labels: set[str] = set()
    for crop_id in ws.crop_ids():
        try:
            labels.add(ws.load_crop_meta(crop_id).label)
        except GarbError:
            continue
    return sorted(labels)


def _category_list(objects: list[RenderedObject], categories: Sequence[str] | None) -> list[str]:
    names = list(categories) if categories else []
    missing = sorted({o.label for o in objects} - set(names))
    return names + missing


def mask_polygons(mask: NDArray[np.bool_], offset: tuple[int, int] = (0, 0)) -> list[list[tuple[float, float]]]:
    """Outer outlines of a bool mask, in image pixels (pixel-corner convention), largest first."""
    if mask.size == 0 or not mask.any():
        return []
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    parts = []
    for c in contours:
        pts = c.reshape(-1, 2).astype(np.float64) + 0.5 + np.asarray(offset, dtype=np.float64)
        area = cv2.contourArea(c.astype(np.float32)) if len(c) >= 3 else 0.0
        parts.append((max(area, float(len(c))), [(float(x), float(y)) for x, y in pts]))
    parts.sort(key=lambda t: -t[0])
    kept = [p for a, p in parts if a >= MIN_PART_AREA and len(p) >= 3]
    if kept:
        return kept
    # A sliver (one pixel wide, or a single pixel): its box outline, so every polygon has 3+ points.
    ys, xs = np.nonzero(mask)
    x0, y0 = xs.min() + offset[0], ys.min() + offset[1]
    x1, y1 = xs.max() + 1 + offset[0], ys.max() + 1 + offset[1]
    return [[(float(x0), float(y0)), (float(x1), float(y0)), (float(x1), float(y1)), (float(x0), float(y1))]]


def merge_parts(parts: list[list[tuple[float, float]]]) -> list[tuple[float, float]]:
    """Join polygon parts into one outline by zero-width bridges between nearest points (as Ultralytics)."""
    if not parts:
        return []
    merged = list(parts[0])
    for part in parts[1:]:
        a = np.asarray(merged)
        b = np.asarray(part)
        d = ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)
        i, j = np.unravel_index(int(np.argmin(d)), d.shape)
        loop = part[j:] + part[:j] + [part[j]]
        merged = merged[: i + 1] + loop + merged[i:]
    return merged


def coco_dict(result: RenderResult, image_file_name: str, categories: list[str]) -> dict[str, Any]:
    """COCO instances of one render: its kept objects, box = extent of the visible mask, RLE segmentation."""
    h, w = result.image.shape[:2]
    cat_id = {name: i + 1 for i, name in enumerate(categories)}
    anns: list[dict[str, Any]] = []
    for obj in result.kept:
        x0, y0, x1, y1 = obj.bbox
        anns.append({
            "id": len(anns) + 1,
            "image_id": 1,
            "category_id": cat_id[obj.label],
            "bbox": [x0, y0, x1 - x0, y1 - y0],
            "area": obj.area,
            "segmentation": obj.rle(),
            "iscrowd": 0,
            "attributes": {
                "crop_id": obj.crop_id,
                "placement_index": obj.placement_index,
                "visible_fraction": round(obj.visible_fraction, 4),
                "clipped": obj.clipped,
            },
        })
    return {
        "info": {"description": f"garbtui scene {result.scene_id}", "version": __version__},
        "licenses": [],
        "images": [{"id": 1, "file_name": image_file_name, "width": w, "height": h,
                    "background_id": result.background_id, "scene_id": result.scene_id}],
        "annotations": anns,
        "categories": [{"id": i + 1, "name": n, "supercategory": ""} for i, n in enumerate(categories)],
    }


def yolo_lines(result: RenderResult, categories: list[str]) -> tuple[list[str], list[str]]:
    """(detect lines, segment lines) for the kept objects."""
    h, w = result.image.shape[:2]
    det, seg = [], []
    for obj in result.kept:
        cls = categories.index(obj.label)
        x0, y0, x1, y1 = obj.bbox
        det.append(f"{cls} {(x0 + x1) / 2 / w:.6f} {(y0 + y1) / 2 / h:.6f} {(x1 - x0) / w:.6f} {(y1 - y0) / h:.6f}")
        poly = merge_parts(mask_polygons(obj.mask_roi, obj.offset))
        coords = " ".join(f"{min(max(x / w, 0.0), 1.0):.6f} {min(max(y / h, 0.0), 1.0):.6f}" for x, y in poly)
        seg.append(f"{cls} {coords}")
    return det, seg


def labelstudio_task(result: RenderResult, image_ref: str, names: LabelStudioNames = DEFAULT_LS_NAMES) -> dict[str, Any]:
    """One Label Studio task with the render's objects as predictions (boxes and polygons, percent units)."""
    h, w = result.image.shape[:2]
    regions = []
    for obj in result.kept:
        x0, y0, x1, y1 = obj.bbox
        base = {"original_width": w, "original_height": h, "image_rotation": 0,
                "to_name": names.image, "origin": "prediction"}
        regions.append({**base, "id": f"g{obj.placement_index}b", "from_name": names.box, "type": "rectanglelabels",
                        "value": {"x": 100 * x0 / w, "y": 100 * y0 / h, "width": 100 * (x1 - x0) / w,
                                  "height": 100 * (y1 - y0) / h, "rotation": 0, "rectanglelabels": [obj.label]}})
        for k, part in enumerate(mask_polygons(obj.mask_roi, obj.offset)):
            regions.append({**base, "id": f"g{obj.placement_index}p{k}", "from_name": names.polygon,
                            "type": "polygonlabels",
                            "value": {"points": [[100 * x / w, 100 * y / h] for x, y in part], "closed": True,
                                      "polygonlabels": [obj.label]}})
    return {
        "data": {"image": image_ref},
        "meta": {"garbtui_scene": result.scene_id, "background_id": result.background_id},
        "predictions": [{"model_version": f"garbtui-{__version__}", "score": 1.0, "result": regions}],
    }


@dataclass(frozen=True)
class LabelFiles:
    """Paths written by write_scene_labels."""

    coco: Path
    yolo_detect: Path
    yolo_segment: Path
    yolo_classes: Path
    labelstudio: Path


def write_scene_labels(
    result: RenderResult,
    out_dir: Path,
    image_file_name: str,
    categories: Sequence[str] | None = None,
    *,
    image_ref: str | None = None,
    ls_names: LabelStudioNames = DEFAULT_LS_NAMES,
) -> LabelFiles:
    """Write COCO, YOLO (detect + segment) and Label Studio files for one render into `out_dir`.

    categories fixes the class order (COCO id = index + 1, YOLO class = index); labels not in it are
    appended in sorted order. image_ref is the Label Studio `data.image` (default: image_file_name).
    """
    out_dir = Path(out_dir)
    cats = _category_list(result.kept, categories)
    stem = Path(image_file_name).stem
    files = LabelFiles(
        coco=out_dir / "coco.json",
        yolo_detect=out_dir / "yolo" / "detect" / f"{stem}.txt",
        yolo_segment=out_dir / "yolo" / "segment" / f"{stem}.txt",
        yolo_classes=out_dir / "yolo" / "classes.txt",
        labelstudio=out_dir / "labelstudio.json",
    )
    atomic_write_text(files.coco, json.dumps(coco_dict(result, image_file_name, cats), indent=1) + "\n")
    det, seg = yolo_lines(result, cats)
    atomic_write_text(files.yolo_detect, "".join(line + "\n" for line in det))
    atomic_write_text(files.yolo_segment, "".join(line + "\n" for line in seg))
    atomic_write_text(files.yolo_classes, "".join(n + "\n" for n in cats))
    task = labelstudio_task(result, image_ref or image_file_name, ls_names)
    atomic_write_text(files.labelstudio, json.dumps([task], indent=1) + "\n")
    return files


def replace_dir(new: Path, target: Path) -> None:
    """Put the finished folder `new` in place of `target`: readers see the old or the new labels, never a mix."""
    old = target.with_name(f".{target.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        target.rename(old)
    new.rename(target)
    if old.exists():
        shutil.rmtree(old)
