"""Labels of one rendered scene: COCO instances, YOLO detect and segment, Label Studio predictions.

Layout written by write_scene_labels into `out_dir` (for image `render.jpg`):

    coco.json                 COCO instances: one image, box [x, y, w, h] = extent of the visible mask,
                              segmentation = compressed RLE of the visible mask, area = its pixel count
    yolo/classes.txt          class names, one per line, index = line number
    yolo/detect/render.txt    `cls cx cy w h` normalised to 0..1
    yolo/segment/render.txt   `cls x1 y1 x2 y2 ...` normalised corner outline (parts joined as Ultralytics does)
    labelstudio.json          one task with `predictions`: a rectangle and an outline per object, in percent
    labelstudio/config.xml    a labeling config those predictions are valid for

The same per-object record and the same writers as generated datasets (objects.py, coco.py, yolo.py,
labelstudio.py): box, mask and outline describe the same pixels. Dropped objects (hidden beyond the
scene's occlusion threshold) are in none of the files.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from garbtui.core.compose.render import RenderedObject, RenderResult
from garbtui.core.errors import GarbError
from garbtui.core.export.coco import CocoWriter
from garbtui.core.export.labelstudio import DEFAULT_LS_NAMES, LabelStudioNames, TaskWriter, config_xml
from garbtui.core.export.objects import ImageLabels, label_objects, merge_parts
from garbtui.core.export.yolo import classes_text, label_text
from garbtui.core.workspace.atomic import atomic_write_text
from garbtui.core.workspace.store import Workspace

__all__ = ["DEFAULT_LS_NAMES", "LabelFiles", "LabelStudioNames", "merge_parts", "replace_dir", "scene_image_labels",
           "workspace_categories", "write_scene_labels"]


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


def scene_image_labels(result: RenderResult, image_file_name: str) -> ImageLabels:
    """The render's labelled objects as the writers take them (every kept object: scenes set no minimum size)."""
    h, w = result.image.shape[:2]
    objects, _ = label_objects(result.objects)
    return ImageLabels(image_file_name, w, h, objects,
                       coco_extra={"background_id": result.background_id, "scene_id": result.scene_id},
                       ls_meta={"garbtui_scene": result.scene_id, "background_id": result.background_id})


@dataclass(frozen=True)
class LabelFiles:
    """Paths written by write_scene_labels."""

    coco: Path
    yolo_detect: Path
    yolo_segment: Path
    yolo_classes: Path
    labelstudio: Path
    labelstudio_config: Path


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
        labelstudio_config=out_dir / "labelstudio" / "config.xml",
    )
    image = scene_image_labels(result, image_file_name)
    coco = CocoWriter(files.coco, cats, f"garbtui scene {result.scene_id}")
    try:
        coco.add(image)
        coco.commit()
    except BaseException:
        coco.discard()
        raise
    class_of = {name: i for i, name in enumerate(cats)}
    atomic_write_text(files.yolo_detect, label_text(image, class_of, "detect"))
    atomic_write_text(files.yolo_segment, label_text(image, class_of, "segment"))
    atomic_write_text(files.yolo_classes, classes_text(cats))
    tasks = TaskWriter(files.labelstudio, "", ls_names)
    try:
        tasks.add(ImageLabels(image_ref or image_file_name, image.width, image.height, image.objects,
                              ls_meta=image.ls_meta))
        tasks.commit()
    except BaseException:
        tasks.discard()
        raise
    atomic_write_text(files.labelstudio_config, config_xml(cats, ls_names))
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
