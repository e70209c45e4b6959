"""Label Studio exports (JSON and JSON-MIN) and labeling configs, read into SourceItems."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from garbtui.core.errors import InputError
from garbtui.core.extract.sources import ParsedExport, Skip, SourceItem, SourceRegion, declared_size, finite
from garbtui.core.workspace.imageio import IMAGE_SUFFIXES
from garbtui.core.workspace.jsonfile import WORKSPACE_JSON_MAX, read_regular

SCENE_VALUES = {"road", "front"}
SURFACE_VALUES = {"road", "pavement", "grass", "ground", "sand", "dirt", "gravel", "asphalt", "sidewalk", "soil",
                  "vegetation", "concrete"}
# Keys JSON-MIN adds to every row that are neither data fields nor controls.
MIN_META_KEYS = {"id", "annotator", "annotation_id", "created_at", "updated_at", "lead_time", "agreement",
                 "drafts", "predictions", "meta", "inner_id", "total_annotations", "cancelled_annotations",
                 "total_predictions", "project", "updated_by", "file_upload"}
# The skip reason of an annotation left out because only the latest is read (annotations="latest").
OLDER_ANNOTATION = "older annotation (only the latest one of a task is read)"
# Results that classify or comment on a task (or on a region) rather than outline an object: read for the
# scene kind when they are Choices, otherwise left alone without a skip line (they are not objects).
NON_REGION_TYPES = {"textarea", "choices", "rating", "number", "datetime", "taxonomy", "pairwise", "ranker",
                    "relation", "relations", "paragraphlabels"}
REGION_LABEL_KEYS = ("rectanglelabels", "polygonlabels", "brushlabels", "labels", "keypointlabels",
                     "ellipselabels")


@dataclass
class LabelConfig:
    """What garbtui needs from a labeling config: the image data key and the Choices controls."""

    image_key: str | None = None
    scene_controls: set[str] = field(default_factory=set)
    surface_controls: set[str] = field(default_factory=set)


def parse_config(path: Path) -> LabelConfig:
    """Read a Label Studio labeling config (XML)."""
    data = read_regular(path, InputError, "labeling config", WORKSPACE_JSON_MAX)
    try:
        root = ET.fromstring(data)
    except (ET.ParseError, ValueError) as exc:
        raise InputError(f"cannot read labeling config: {exc}", where=str(path)) from None
    cfg = LabelConfig()
    for node in root.iter():
        if node.tag == "Image" and cfg.image_key is None:
            value = node.get("value", "")
            if value.startswith("$"):
                cfg.image_key = value[1:]
        elif node.tag == "Choices":
            name = node.get("name", "")
            values = {c.get("value", "").lower() for c in node.iter("Choice")}
            if "front" in values or "scene" in name.lower():
                cfg.scene_controls.add(name)
            elif values & (SURFACE_VALUES - {"road"}) or "surface" in name.lower():
                cfg.surface_controls.add(name)
    if cfg.image_key is None:
        raise InputError("labeling config has no <Image value=\"$key\"> tag", where=str(path))
    return cfg


def detect_format(data: Any) -> str:
    """'coco', 'labelstudio-json' or 'labelstudio-min'; InputError for anything else."""
    if isinstance(data, dict) and {"images", "annotations"} <= data.keys():
        return "coco"
    if isinstance(data, dict) and "data" in data:
        return "labelstudio-json"
    if isinstance(data, list):
        dicts = [t for t in data if isinstance(t, dict)]
        if not data:
            return "labelstudio-json"
        if dicts and any("data" in t and ("annotations" in t or "predictions" in t) for t in dicts):
            return "labelstudio-json"
        if dicts and all("data" not in t for t in dicts) and any("id" in t for t in dicts):
            return "labelstudio-min"
    raise InputError("neither a Label Studio export (JSON / JSON-MIN) nor a COCO instances file")


def parse_labelstudio(
    data: Any,
    *,
    where: str,
    config: LabelConfig | None = None,
    annotations: str = "latest",
    predictions: bool = False,
) -> ParsedExport:
    """Turn a Label Studio export into SourceItems; malformed tasks are skipped with a reason."""
    fmt = detect_format(data)
    if fmt == "coco":
        raise InputError("this is a COCO file, not a Label Studio export", where=where)
    tasks = [data] if isinstance(data, dict) else data
    items: list[SourceItem] = []
    skipped: list[Skip] = []
    for index, task in enumerate(tasks):
        task_where = f"{where}: task {task.get('id', f'#{index}') if isinstance(task, dict) else f'#{index}'}"
        if not isinstance(task, dict):
            skipped.append(Skip(task_where, "not a JSON object"))
            continue
        try:
            if fmt == "labelstudio-min":
                new = _items_from_min_row(task, task_where, config, skipped)
            else:
                new = _items_from_task(task, task_where, config, annotations, predictions, skipped)
        except InputError as exc:
            skipped.append(Skip(task_where, exc.message, exc.field))
            continue
        if not new and fmt == "labelstudio-json" and not task.get("annotations") and not task.get("predictions"):
            skipped.append(Skip(task_where, "no annotation"))
        items.extend(new)
    if fmt == "labelstudio-min":
        if annotations == "latest":
            items = _latest_per_task(items, skipped)
        for item in items:
            if not item.regions:
                skipped.append(Skip(item.where, "no regions"))
        items = [item for item in items if item.regions]
    return ParsedExport(fmt, items, skipped)


def _latest_per_task(items: list[SourceItem], skipped: list[Skip]) -> list[SourceItem]:
    """JSON-MIN repeats a task once per annotator: keep the most recently updated row of each task."""
    best: dict[str | None, SourceItem] = {}
    order: list[str | None] = []
    for item in items:
        key = item.task_id
        if key not in best:
            order.append(key)
            best[key] = item
            continue
        current = best[key]
        newer = (str(item.task.get("updated_at") or ""), _num(item.annotation_id)) > (
            str(current.task.get("updated_at") or ""), _num(current.annotation_id))
        older = current if newer else item
        skipped.append(Skip(older.where, OLDER_ANNOTATION, field="annotations"))
        if newer:
            best[key] = item
    return [best[k] for k in order]


def _image_ref(data: dict[str, Any], config: LabelConfig | None, where: str) -> str:
    if config and config.image_key:
        value = data.get(config.image_key)
        if not isinstance(value, str) or not value:
            raise InputError(f"data key {config.image_key!r} (from the labeling config) is missing")
        return value
    candidates = [k for k, v in data.items() if isinstance(v, str) and _looks_like_image(v)]
    if len(candidates) == 1:
        return str(data[candidates[0]])
    if not candidates:
        raise InputError("no image field in the task data (a labeling config names it)", field="config")
    raise InputError(f"several image-like fields {candidates} in the task data (a labeling config chooses one)",
                     field="config")


def _looks_like_image(value: str) -> bool:
    low = value.lower().split("?", 1)[-1] if "/data/local-files/" in value else value.lower()
    return "/data/upload/" in low or "/data/local-files/" in value or low.endswith(IMAGE_SUFFIXES)


def _items_from_task(
    task: dict[str, Any], where: str, config: LabelConfig | None, mode: str, predictions: bool,
    skipped: list[Skip],
) -> list[SourceItem]:
    data = task.get("data")
    if not isinstance(data, dict):
        raise InputError("task has no 'data' object")
    ref = _image_ref(data, config, where)
    task_id = str(task["id"]) if "id" in task else None
    anns = task.get("annotations") or []
    if not isinstance(anns, list):
        raise InputError("'annotations' is not a list")
    usable = []
    for ann in anns:
        if not isinstance(ann, dict):
            skipped.append(Skip(where, "annotation is not a JSON object"))
        elif ann.get("was_cancelled"):
            skipped.append(Skip(f"{where} annotation {ann.get('id')}", "cancelled annotation"))
        else:
            usable.append(ann)
    if mode == "latest" and len(usable) > 1:
        usable.sort(key=lambda a: (str(a.get("updated_at") or a.get("created_at") or ""), _num(a.get("id"))))
        for ann in usable[:-1]:
            skipped.append(Skip(f"{where} annotation {ann.get('id')}", OLDER_ANNOTATION, field="annotations"))
        usable = usable[-1:]
    sources: list[tuple[dict[str, Any], bool]] = [(a, False) for a in usable]
    if predictions:
        for pred in task.get("predictions") or []:
            if isinstance(pred, dict):
                sources.append((pred, True))
            else:
                skipped.append(Skip(f"{where} prediction {pred}", "prediction listed by id only (export with full predictions)"))
    items = []
    for ann, is_pred in sources:
        kind = "prediction" if is_pred else "annotation"
        ann_where = f"{where} {kind} {ann.get('id')}"
        result = ann.get("result") or []
        if not isinstance(result, list):
            skipped.append(Skip(ann_where, "'result' is not a list"))
            continue
        regions, scene, surface = _regions_from_results(result, ann_where, config, skipped)
        if not regions:
            skipped.append(Skip(ann_where, "no regions"))
            continue
        items.append(SourceItem(
            image_ref=ref, source_kind="labelstudio", task_id=task_id,
            annotation_id=str(ann.get("id")) if ann.get("id") is not None else None,
            regions=regions, from_prediction=is_pred, scene=scene, surface=surface, task=task, where=ann_where,
        ))
    return items


def _num(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def _regions_from_results(
    results: list[Any], where: str, config: LabelConfig | None, skipped: list[Skip]
) -> tuple[list[SourceRegion], str | None, str | None]:
    regions: list[SourceRegion] = []
    scene = surface = None
    for res in results:
        rtype = str(res.get("type", "")).lower() if isinstance(res, dict) else ""
        if rtype in NON_REGION_TYPES - {"choices"}:
            continue  # a comment, a rating, a relation between regions...: not an object, not a problem
        if not isinstance(res, dict) or not isinstance(res.get("value"), dict):
            skipped.append(Skip(where, "result without a 'value' object"))
            continue
        value = res["value"]
        rid = str(res.get("id", ""))
        if rtype == "choices" or ("choices" in value and not any(k in value for k in REGION_LABEL_KEYS)):
            s, f = _classify_choices(str(res.get("from_name", "")), value.get("choices"), config)
            scene, surface = s or scene, f or surface
            continue
        if not rtype and "text" in value and not any(k in value for k in REGION_LABEL_KEYS):
            continue  # a TextArea result without its type
        size = declared_size(res.get("original_width"), res.get("original_height"))
        region = _region_from_value(value, rtype, [rid], size, f"{where} region {rid}", skipped)
        if region is not None:
            regions.append(region)
    return regions, scene, surface


def _classify_choices(name: str, raw: Any, config: LabelConfig | None) -> tuple[str | None, str | None]:
    values = [raw] if isinstance(raw, str) else [v for v in (raw or []) if isinstance(v, str)]
    values = [v.lower() for v in values]
    if not values:
        return None, None
    if config and name in config.scene_controls:
        return next((v for v in values if v in SCENE_VALUES), None), None
    if config and name in config.surface_controls:
        return None, values[0]
    lname = name.lower()
    if "surface" in lname:
        return None, values[0]
    if "scene" in lname or (set(values) <= SCENE_VALUES and "front" in values):
        return next((v for v in values if v in SCENE_VALUES), None), None
    if set(values) & SURFACE_VALUES:
        return None, values[0]
    return None, None


def _region_from_value(
    value: dict[str, Any], rtype: str, result_ids: list[str], size: tuple[int, int] | None, where: str,
    skipped: list[Skip],
) -> SourceRegion | None:
    labels = next((value[k] for k in REGION_LABEL_KEYS if k in value), None)
    if isinstance(labels, str):
        labels = [labels]
    if not labels or not isinstance(labels, list) or not isinstance(labels[0], str):
        skipped.append(Skip(where, f"region of type {rtype or '?'} has no label"))
        return None
    label = labels[0]
    try:
        if "points" in value and rtype in ("polygonlabels", "polygon", ""):
            pts = [(finite(p[0], "polygon x"), finite(p[1], "polygon y")) for p in value["points"]]
            if len(pts) < 3:
                raise InputError("polygon with fewer than 3 points")
            return SourceRegion("polygon", label, result_ids, "percent", parts=[pts], declared_size=size, where=where)
        if value.get("format") == "rle" and "rle" in value:
            return SourceRegion("brush", label, result_ids, "percent", brush_rle=list(value["rle"]),
                                declared_size=size, where=where)
        if {"x", "y", "width", "height"} <= value.keys() and rtype in ("rectanglelabels", "rectangle", "labels", ""):
            x, y, w, h = (finite(value[k], f"box {k}") for k in ("x", "y", "width", "height"))
            return SourceRegion("box", label, result_ids, "percent", box=(x, y, w, h),
                                rotation=finite(value.get("rotation") or 0.0, "rotation"), declared_size=size,
                                where=where)
    except (TypeError, ValueError, IndexError) as exc:
        skipped.append(Skip(where, f"malformed {rtype or 'region'}: {exc}"))
        return None
    except InputError as exc:
        skipped.append(Skip(where, exc.message))
        return None
    skipped.append(Skip(where, f"unsupported region type {rtype or '?'} (rectangles, polygons and brush masks are read)"))
    return None


def _items_from_min_row(
    row: dict[str, Any], where: str, config: LabelConfig | None, skipped: list[Skip]
) -> list[SourceItem]:
    controls = {k: v for k, v in row.items() if k not in MIN_META_KEYS}
    data = {k: v for k, v in controls.items() if isinstance(v, str) and _looks_like_image(v)}
    ref = _image_ref(data if not config else row, config, where)
    data_keys = {config.image_key} if config and config.image_key else set(data)
    regions: list[SourceRegion] = []
    scene = surface = None
    for name, value in controls.items():
        if name in data_keys:
            continue
        if isinstance(value, str) or (isinstance(value, dict) and "choices" in value):
            choices = value if isinstance(value, str) else value.get("choices")
            s, f = _classify_choices(name, choices, config)
            scene, surface = s or scene, f or surface
        elif isinstance(value, list):
            for n, region in enumerate(value):
                if not isinstance(region, dict):
                    continue
                size = declared_size(region.get("original_width"), region.get("original_height"))
                rid = f"{name}-{n}"
                rtype = next((k for k in REGION_LABEL_KEYS if k in region), "")
                got = _region_from_value(region, rtype, [rid], size, f"{where} {name}[{n}]", skipped)
                if got is not None:
                    regions.append(got)
    # A row without regions is still an annotation: it must take part in choosing the latest one
    # (a newer annotation that removed every box wins), and is dropped afterwards.
    ann_id = row.get("annotation_id")
    return [SourceItem(
        image_ref=ref, source_kind="labelstudio", task_id=str(row["id"]) if "id" in row else None,
        annotation_id=str(ann_id) if ann_id is not None else None, regions=regions, scene=scene,
        surface=surface, task=row, where=where,
    )]
