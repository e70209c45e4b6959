"""COCO instance files (e.g. TACO) read into SourceItems: boxes, polygons and RLE masks in pixels."""

from __future__ import annotations

import json
from typing import Any

from garbtui.core.errors import InputError
from garbtui.core.extract.sources import ParsedExport, Skip, SourceItem, SourceRegion, declared_size, finite


def parse_coco(data: Any, *, where: str, scene: str | None = None) -> ParsedExport:
    """One SourceItem per COCO image that has annotations; bad entries are skipped with a reason."""
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) or not isinstance(
        data.get("annotations"), list
    ):
        raise InputError("COCO file needs 'images' and 'annotations' lists", where=where)
    skipped: list[Skip] = []
    categories: dict[Any, str] = {}
    for cat in data.get("categories") or []:
        if isinstance(cat, dict) and "id" in cat:
            categories[_key(cat["id"])] = str(cat.get("name", cat["id"]))
    images: dict[Any, dict[str, Any]] = {}
    for img in data["images"]:
        if isinstance(img, dict) and "id" in img and isinstance(img.get("file_name"), str):
            images[_key(img["id"])] = img
        else:
            skipped.append(Skip(f"{where}: image {img.get('id') if isinstance(img, dict) else img!r:.60}",
                                "image entry without id or file_name"))
    per_image: dict[Any, list[SourceRegion]] = {}
    for ann in data["annotations"]:
        ann_where = f"{where}: annotation {ann.get('id') if isinstance(ann, dict) else '?'}"
        if not isinstance(ann, dict):
            skipped.append(Skip(ann_where, "not a JSON object"))
            continue
        img = images.get(_key(ann.get("image_id")))
        if img is None:
            skipped.append(Skip(ann_where, f"refers to unknown image_id {ann.get('image_id')!r:.60}"))
            continue
        label = categories.get(_key(ann.get("category_id")), str(ann.get("category_id", "object")))
        region = _region(ann, label, img, ann_where, skipped)
        if region is not None:
            per_image.setdefault(_key(img["id"]), []).append(region)
    items = []
    for image_id, regions in per_image.items():
        img = images[image_id]
        items.append(SourceItem(
            image_ref=img["file_name"], source_kind="coco", task_id=str(image_id), annotation_id=None,
            regions=regions, scene=str(img.get("scene")) if img.get("scene") else scene,
            surface=str(img.get("surface")) if img.get("surface") else None,
            task={"image": img, "annotations": [r.where for r in regions]},
            where=f"{where}: image {image_id} ({img['file_name']})",
        ))
    return ParsedExport("coco", items, skipped)


def _key(value: Any) -> Any:
    """A dict key for an id of any JSON type (a list or object id must not crash the reader)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def _region(ann: dict[str, Any], label: str, img: dict[str, Any], where: str, skipped: list[Skip]) -> SourceRegion | None:
    size = declared_size(img.get("width"), img.get("height"))
    rid = [str(ann.get("id", ""))]
    seg = ann.get("segmentation")
    try:
        if isinstance(seg, list) and seg and isinstance(seg[0], list):
            parts = []
            for flat in seg:
                pts = [(finite(flat[i], "polygon x"), finite(flat[i + 1], "polygon y"))
                       for i in range(0, len(flat) - 1, 2)]
                if len(pts) >= 3:
                    parts.append(pts)
            if parts:
                return SourceRegion("polygon", label, rid, "pixels", parts=parts, declared_size=size, where=where)
        if isinstance(seg, dict) and "counts" in seg:
            return SourceRegion("brush", label, rid, "pixels", coco_rle=seg, declared_size=size, where=where)
        bbox = ann.get("bbox")
        if isinstance(bbox, list) and len(bbox) == 4:
            x, y, w, h = (finite(v, "bbox value") for v in bbox)
            return SourceRegion("box", label, rid, "pixels", box=(x, y, w, h), declared_size=size, where=where)
    except (TypeError, ValueError) as exc:
        skipped.append(Skip(where, f"malformed geometry: {exc}"))
        return None
    except InputError as exc:
        skipped.append(Skip(where, f"malformed geometry: {exc.message}"))
        return None
    skipped.append(Skip(where, "no usable bbox or segmentation"))
    return None
