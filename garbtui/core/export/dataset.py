"""A dataset folder in the layouts trainers read as they are, written as a stream of images in order.

    images/{train,val}/NAME.jpg          the images (written by the caller, before their labels)
    labels/{train,val}/NAME.txt          YOLO labels beside them, as Ultralytics looks for them:
                                         segment lines (yolo "segment" or "both") or detect lines ("detect")
    labels-detect/{train,val}/NAME.txt   detect lines too (yolo "both"; Ultralytics reads only labels/,
                                         whose segment lines give it the same boxes)
    data.yaml                            Ultralytics dataset: path (absolute), train / val folders, names
    classes.txt                          class names; YOLO class = line number, COCO id = line number + 1
    coco.json                            COCO instances of every image (each with its "split")
    annotations/instances_{train,val}.json   the same per split (COCO's own naming)
    labelstudio/tasks.json, config.xml   Label Studio import: one task per image, boxes + outlines as
                                         predictions, and the labeling config they are valid for
    summary.json                         counts per class and split, placements left out and why,
                                         images with no object, object sizes
    report.png                           sample images with boxes and outlines, class and size histograms

DatasetWriter takes the images one by one (ImageLabels, in the dataset's order) and keeps only
counters: every JSON file is streamed to a temporary file and put in place by commit().
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from garbtui.core.export.coco import CocoMasks, CocoWriter
from garbtui.core.export.labelstudio import DEFAULT_LS_NAMES, LabelStudioNames, TaskWriter, config_xml
from garbtui.core.export.objects import DropCounts, ImageLabels
from garbtui.core.export.yolo import YoloMode, classes_text, data_yaml, label_text
from garbtui.core.workspace.atomic import atomic_write_text

SPLITS = ("train", "val")
IMAGES_DIR = "images"
LABELS_DIR = "labels"
DETECT_LABELS_DIR = "labels-detect"
LS_DIR = "labelstudio"
# data.yaml's first line: what labels/ holds under each --yolo mode.
LABELS_NOTE: dict[str, str] = {
    "segment": "labels/ holds outlines (segment lines; detect training reads their boxes)",
    "both": "labels/ holds outlines (segment lines; detect training reads their boxes), labels-detect/ boxes",
    "detect": "labels/ holds boxes (detect lines)",
}
SIZE_BINS = (8, 16, 32, 64, 128, 256, 512, 1024)  # longest side of the box, px: bin i holds [b_i, b_i+1)


def image_path(split: str, name: str, suffix: str = ".jpg") -> str:
    """Where an image lives in the dataset (relative, forward slashes)."""
    return f"{IMAGES_DIR}/{split}/{name}{suffix}"


def label_paths(split: str, name: str, yolo: YoloMode) -> dict[str, str]:
    """The YOLO label files of one image: kind ("detect" / "segment") -> relative path."""
    main = f"{LABELS_DIR}/{split}/{name}.txt"
    if yolo == "detect":
        return {"detect": main}
    if yolo == "segment":
        return {"segment": main}
    return {"segment": main, "detect": f"{DETECT_LABELS_DIR}/{split}/{name}.txt"}


def label_files(image: ImageLabels, name: str, categories: Sequence[str], yolo: YoloMode) -> dict[str, str]:
    """Relative path -> text of every YOLO label file of one image."""
    class_of = {n: i for i, n in enumerate(categories)}
    return {path: label_text(image, class_of, "detect" if kind == "detect" else "segment")
            for kind, path in label_paths(image.split, name, yolo).items()}


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
    """What the dataset holds: images per split, objects per class, what was left out, object sizes."""

    images: dict[str, int]
    classes: dict[str, ClassCount]
    drops: DropCounts = field(default_factory=DropCounts)
    empty_images: int = 0
    unplanned_images: int = 0  # empty because nothing was placed at all (no fragment fits the background)
    sizes: list[int] = field(default_factory=lambda: [0] * len(SIZE_BINS))  # objects per SIZE_BINS bin

    @property
    def objects(self) -> int:
        return sum(c.total for c in self.classes.values())

    @property
    def dropped(self) -> int:
        return self.drops.total

    @property
    def total_images(self) -> int:
        return sum(self.images.values())

    def add(self, image: ImageLabels, drops: DropCounts | None = None, placements: int | None = None) -> None:
        self.images[image.split] = self.images.get(image.split, 0) + 1
        for obj in image.objects:
            self.classes.setdefault(obj.label, ClassCount()).objects[image.split] += 1
            side = max(obj.longest_side, 1)
            self.sizes[min(len(SIZE_BINS) - 1, max(0, int(math.log2(side)) - 3))] += 1
        for label in {obj.label for obj in image.objects}:
            self.classes[label].images += 1
        if not image.objects:
            self.empty_images += 1
            if placements == 0:
                self.unplanned_images += 1
        if drops is not None:
            self.drops.add(drops)

    def as_dict(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "objects": self.objects,
            "empty_images": self.empty_images,
            "empty_images_with_no_placement": self.unplanned_images,
            "dropped_placements": self.dropped,
            "dropped_by_reason": self.drops.as_dict(),
            "object_sizes": {"longest_side_px_from": list(SIZE_BINS), "objects": self.sizes},
            "classes": {name: {"objects": c.objects, "total": c.total, "images": c.images}
                        for name, c in self.classes.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatasetSummary:
        """Read summary.json back (the dataset browser and check use it)."""
        classes = {name: ClassCount(dict(c["objects"]), int(c["images"])) for name, c in data["classes"].items()}
        drops = DropCounts(**{k: int(v) for k, v in (data.get("dropped_by_reason") or {}).items()})
        sizes = list((data.get("object_sizes") or {}).get("objects") or [0] * len(SIZE_BINS))
        return cls(dict(data["images"]), classes, drops, int(data.get("empty_images", 0)),
                   int(data.get("empty_images_with_no_placement", 0)), sizes)


def empty_summary(categories: Sequence[str]) -> DatasetSummary:
    return DatasetSummary({s: 0 for s in SPLITS}, {name: ClassCount() for name in categories})


def summary_lines(summary: DatasetSummary) -> list[str]:
    """The per-class table the CLI prints."""
    width = max([len("class")] + [len(n) for n in summary.classes])
    out = [f"{'class':<{width}}  {'train':>6}  {'val':>6}  {'images':>6}"]
    for name, c in summary.classes.items():
        out.append(f"{name:<{width}}  {c.objects['train']:>6}  {c.objects['val']:>6}  {c.images:>6}")
    out.append(f"{'total':<{width}}  {sum(c.objects['train'] for c in summary.classes.values()):>6}  "
               f"{sum(c.objects['val'] for c in summary.classes.values()):>6}  {summary.total_images:>6}")
    return out


@dataclass(frozen=True)
class DatasetOptions:
    """How the dataset's label files are written."""

    yolo: YoloMode = "both"
    coco_masks: CocoMasks = "rle"
    ls_prefix: str | None = None  # Label Studio image URL prefix; None: Local Files under the default document root
    ls_names: LabelStudioNames = DEFAULT_LS_NAMES


def default_ls_prefix(root: Path) -> str:
    """`/data/local-files/?d=` + the dataset folder's absolute path: what Label Studio's Local Files serving
    resolves under its default document root (/), once a Local Files storage covers the folder."""
    return "/data/local-files/?d=" + str(Path(root).resolve()).lstrip("/") + "/"


class DatasetWriter:
    """Streams the dataset-wide files of a folder; add() the images in order, then commit() (or discard())."""

    def __init__(self, root: Path, categories: Sequence[str], options: DatasetOptions,
                 supercategories: Mapping[str, str] | None = None, description: str = "garbtui synthetic dataset",
                 report_samples: Collection[int] = ()) -> None:
        """report_samples: positions (0-based, in add() order) of the images report.png shows; none: no report."""
        self.root = Path(root)
        self.report_samples = set(report_samples)
        self._samples: list[ImageLabels] = []
        self._added = 0
        self.categories = list(categories)
        self.options = options
        self.summary = empty_summary(self.categories)
        prefix = options.ls_prefix if options.ls_prefix is not None else default_ls_prefix(self.root)
        self._writers: list[CocoWriter | TaskWriter] = []
        try:
            self._all = self._open(CocoWriter(self.root / "coco.json", self.categories, description,
                                              masks=options.coco_masks, supercategories=supercategories))
            self._split = {s: self._open(CocoWriter(self.root / "annotations" / f"instances_{s}.json", self.categories,
                                                    f"{description} ({s})", masks=options.coco_masks,
                                                    supercategories=supercategories)) for s in SPLITS}
            self._tasks = self._open(TaskWriter(self.root / LS_DIR / "tasks.json", prefix, options.ls_names))
        except BaseException:
            self.discard()
            raise

    def _open[W: (CocoWriter, TaskWriter)](self, writer: W) -> W:
        self._writers.append(writer)
        return writer

    def add(self, image: ImageLabels, drops: DropCounts | None = None, placements: int | None = None) -> None:
        """One image, in dataset order; drops and placements (how many were planned) feed the summary."""
        if image.split not in SPLITS:
            raise ValueError(f"unknown split {image.split!r}")
        self._all.add(image)
        self._split[image.split].add(image)
        self._tasks.add(image)
        self.summary.add(image, drops, placements)
        if self._added in self.report_samples:
            self._samples.append(image)
        self._added += 1

    def commit(self) -> DatasetSummary:
        """Put every dataset file in place; returns the summary."""
        for w in self._writers:
            w.commit()
        self._writers = []
        has_val = self.summary.images["val"] > 0
        atomic_write_text(self.root / "data.yaml", data_yaml(
            self.root, self.categories, train=f"{IMAGES_DIR}/train", val=f"{IMAGES_DIR}/{'val' if has_val else 'train'}",
            comment=f"Ultralytics dataset written by garbtui generate: {LABELS_NOTE[self.options.yolo]}"))
        atomic_write_text(self.root / "classes.txt", classes_text(self.categories))
        atomic_write_text(self.root / LS_DIR / "config.xml", config_xml(self.categories, self.options.ls_names))
        atomic_write_text(self.root / "summary.json",
                          json.dumps(self.summary.as_dict(), indent=2, ensure_ascii=False) + "\n")
        if self.report_samples:
            from garbtui.core.export.report import write_report

            write_report(self.root, self._samples, self.summary, self.categories)
        return self.summary

    def discard(self) -> None:
        for w in self._writers:
            w.discard()
        self._writers = []
