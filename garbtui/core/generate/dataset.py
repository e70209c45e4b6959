"""Dataset files merged from the per-image records on disk: COCO, YOLO, Label Studio, split lists, class summary.

Written into the output folder (images/ and labels/ are filled image by image during the run):

    coco.json              COCO instances, every image (each with its "split"); boxes = visible mask extent,
                           segmentation = compressed RLE of the visible mask
    coco_train.json, coco_val.json   the same per split (only when there is a val split)
    data.yaml              YOLO (Ultralytics) dataset: train / val image lists and the class names
    train.txt, val.txt     image lists, one ./images/NAME.jpg per line (YOLO finds labels/NAME.txt)
    classes.txt            class names, one per line; YOLO class = line number, COCO id = line number + 1
    labelstudio.json       Label Studio import: one task per image, objects as predictions (box + polygons)
    summary.json           counts per class and split

Everything is rebuilt from recipes/*.json at the end of every run, so an interrupted run resumed
later ends with exactly the files an uninterrupted one writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from garbtui import __version__
from garbtui.core.export.labels import DEFAULT_LS_NAMES, LabelStudioNames
from garbtui.core.generate.recipe import ImageRecord
from garbtui.core.scene.taxonomy import supercategory
from garbtui.core.workspace.atomic import atomic_write_text

SPLITS = ("train", "val")


@dataclass
class ClassCount:
    """Objects of one class per split, and how many images show it."""

    objects: dict[str, int] = field(default_factory=lambda: {s: 0 for s in SPLITS})
    images: int = 0

    @property
    def total(self) -> int:
        return sum(self.objects.values())


@dataclass
class DatasetSummary:
    """What the dataset holds: images per split, objects per class."""

    images: dict[str, int]
    classes: dict[str, ClassCount]
    dropped: int = 0

    @property
    def objects(self) -> int:
        return sum(c.total for c in self.classes.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "objects": self.objects,
            "dropped_placements": self.dropped,
            "classes": {name: {"objects": c.objects, "total": c.total, "images": c.images}
                        for name, c in self.classes.items()},
        }


def _coco(records: Sequence[ImageRecord], categories: list[str], description: str) -> dict[str, Any]:
    cat_id = {name: i + 1 for i, name in enumerate(categories)}
    images: list[dict[str, Any]] = []
    anns: list[dict[str, Any]] = []
    for image_id, rec in enumerate(records, start=1):
        r = rec.recipe
        images.append({"id": image_id, "file_name": rec.image_file, "width": rec.width, "height": rec.height,
                       "split": r.split, "background_id": r.background_id, "recipe": f"recipes/{r.name}.json"})
        for obj in rec.objects:
            x0, y0, x1, y1 = obj.bbox
            anns.append({
                "id": len(anns) + 1, "image_id": image_id, "category_id": cat_id[obj.label],
                "bbox": [x0, y0, x1 - x0, y1 - y0], "area": obj.area, "segmentation": obj.rle, "iscrowd": 0,
                "attributes": {"crop_id": obj.crop_id, "visible_fraction": obj.visible_fraction,
                               "clipped": obj.clipped},
            })
    return {
        "info": {"description": description, "version": __version__},
        "licenses": [],
        "images": images,
        "annotations": anns,
        "categories": [{"id": i + 1, "name": n, "supercategory": supercategory(n)} for i, n in enumerate(categories)],
    }


def _labelstudio(records: Iterable[ImageRecord], prefix: str, names: LabelStudioNames) -> list[dict[str, Any]]:
    tasks = []
    for rec in records:
        w, h = rec.width, rec.height
        regions = []
        for n, obj in enumerate(rec.objects):
            x0, y0, x1, y1 = obj.bbox
            base = {"original_width": w, "original_height": h, "image_rotation": 0, "to_name": names.image,
                    "origin": "prediction"}
            regions.append({**base, "id": f"o{n}b", "from_name": names.box, "type": "rectanglelabels",
                            "value": {"x": 100 * x0 / w, "y": 100 * y0 / h, "width": 100 * (x1 - x0) / w,
                                      "height": 100 * (y1 - y0) / h, "rotation": 0, "rectanglelabels": [obj.label]}})
            for k, part in enumerate(obj.polygons):
                regions.append({**base, "id": f"o{n}p{k}", "from_name": names.polygon, "type": "polygonlabels",
                                "value": {"points": [[100 * x / w, 100 * y / h] for x, y in part], "closed": True,
                                          "polygonlabels": [obj.label]}})
        tasks.append({
            "data": {"image": prefix + rec.image_file},
            "meta": {"recipe": rec.recipe.name, "split": rec.recipe.split, "background_id": rec.recipe.background_id},
            "predictions": [{"model_version": f"garbtui-{__version__}", "score": 1.0, "result": regions}],
        })
    return tasks


def _yaml_str(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid YAML double-quoted scalar


def summarize(records: Iterable[ImageRecord], categories: list[str]) -> DatasetSummary:
    images = {s: 0 for s in SPLITS}
    classes = {name: ClassCount() for name in categories}
    dropped = 0
    for rec in records:
        split = rec.recipe.split
        images[split] += 1
        dropped += rec.dropped
        for obj in rec.objects:
            classes[obj.label].objects[split] += 1
        for label in {obj.label for obj in rec.objects}:
            classes[label].images += 1
    return DatasetSummary(images, classes, dropped)


def write_dataset(out_dir: Path, records: Sequence[ImageRecord], categories: list[str], *,
                  ls_prefix: str = "", ls_names: LabelStudioNames = DEFAULT_LS_NAMES) -> DatasetSummary:
    """Write every dataset file of the folder from the records (in their order)."""
    out_dir = Path(out_dir)
    desc = "garbtui synthetic litter dataset"
    atomic_write_text(out_dir / "coco.json", _dump(_coco(records, categories, desc)))
    split_records = {s: [r for r in records if r.recipe.split == s] for s in SPLITS}
    has_val = bool(split_records["val"])
    for s in SPLITS:
        path = out_dir / f"coco_{s}.json"
        if has_val:
            atomic_write_text(path, _dump(_coco(split_records[s], categories, f"{desc} ({s})")))
        elif path.exists():
            path.unlink()
        atomic_write_text(out_dir / f"{s}.txt", "".join(f"./{r.image_file}\n" for r in split_records[s]))
    lines = ["# YOLO detection dataset written by garbtui generate; labels/NAME.txt beside images/NAME.jpg",
             "train: train.txt",
             f"val: {'val.txt' if has_val else 'train.txt'}",
             f"nc: {len(categories)}",
             "names:"]
    lines += [f"  {i}: {_yaml_str(name)}" for i, name in enumerate(categories)]
    atomic_write_text(out_dir / "data.yaml", "\n".join(lines) + "\n")
    atomic_write_text(out_dir / "classes.txt", "".join(n + "\n" for n in categories))
    atomic_write_text(out_dir / "labelstudio.json", _dump(_labelstudio(records, ls_prefix, ls_names)))
    summary = summarize(records, categories)
    atomic_write_text(out_dir / "summary.json", json.dumps(summary.as_dict(), indent=2, ensure_ascii=False) + "\n")
    return summary


def _dump(obj: object) -> str:
    """Compact JSON (one line), as the dataset files are written."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


def summary_lines(summary: DatasetSummary) -> list[str]:
    """The per-class table the CLI prints."""
    width = max([len("class")] + [len(n) for n in summary.classes])
    out = [f"{'class':<{width}}  {'train':>6}  {'val':>6}  {'images':>6}"]
    for name, c in summary.classes.items():
        out.append(f"{name:<{width}}  {c.objects['train']:>6}  {c.objects['val']:>6}  {c.images:>6}")
    out.append(f"{'total':<{width}}  {sum(c.objects['train'] for c in summary.classes.values()):>6}  "
               f"{sum(c.objects['val'] for c in summary.classes.values()):>6}  "
               f"{summary.images['train'] + summary.images['val']:>6}")
    return out
