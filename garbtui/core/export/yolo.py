"""YOLO (Ultralytics) labels: detect lines, segment lines, classes.txt and data.yaml.

    detect   `cls cx cy w h`, normalised to 0..1: the object's box
    segment  `cls x1 y1 x2 y2 ...`, normalised: the object's corner outline, its parts joined by
             zero-width bridges (one object, one line). Its extent is the detect box exactly, so
             Ultralytics' detect task, which takes a segment line's box from its points, trains on
             segment labels with the same boxes.

One object, one line, in the order of the COCO annotations. Class = position in the class list.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from garbtui.core.export.objects import ImageLabels, ObjectLabel

YoloMode = Literal["detect", "segment", "both"]
YOLO_MODES: tuple[str, ...] = ("detect", "segment", "both")


def detect_line(obj: ObjectLabel, cls: int, width: int, height: int) -> str:
    x0, y0, x1, y1 = obj.bbox
    return (f"{cls} {(x0 + x1) / 2 / width:.6f} {(y0 + y1) / 2 / height:.6f} "
            f"{(x1 - x0) / width:.6f} {(y1 - y0) / height:.6f}")


def segment_line(obj: ObjectLabel, cls: int, width: int, height: int) -> str:
    coords = " ".join(f"{x / width:.6f} {y / height:.6f}" for x, y in obj.outline())
    return f"{cls} {coords}"


def label_text(image: ImageLabels, class_of: dict[str, int], kind: Literal["detect", "segment"]) -> str:
    """The label file of one image: one line per object, each ending in a newline ("" for no objects)."""
    line = detect_line if kind == "detect" else segment_line
    return "".join(line(obj, class_of[obj.label], image.width, image.height) + "\n" for obj in image.objects)


def classes_text(categories: Sequence[str]) -> str:
    return "".join(n + "\n" for n in categories)


def yaml_str(text: str) -> str:
    """A YAML double-quoted scalar (a JSON string is one)."""
    return json.dumps(text, ensure_ascii=False)


def data_yaml(root: Path, categories: Sequence[str], *, train: str, val: str, comment: str) -> str:
    """An Ultralytics dataset file: `path` (absolute: Ultralytics reads a relative one against its own datasets
    folder), the train / val image folders relative to it, and the class names."""
    lines = [f"# {comment}",
             f"path: {yaml_str(str(Path(root).resolve()))}",
             f"train: {yaml_str(train)}",
             f"val: {yaml_str(val)}",
             f"nc: {len(categories)}",
             "names:"]
    lines += [f"  {i}: {yaml_str(name)}" for i, name in enumerate(categories)]
    return "\n".join(lines) + "\n"
