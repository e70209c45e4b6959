"""COCO instances, written as a stream: one image or annotation per line, any number of images in flat memory.

    {"info":{..},"licenses":[],"categories":[..],
    "images":[
    {"id":1,"file_name":..,"width":..,"height":..,..},
    ...],
    "annotations":[
    {"id":1,"image_id":1,"category_id":..,"bbox":[x,y,w,h],"area":..,"segmentation":..,"iscrowd":0,..},
    ...]}

Box = extent of the label mask; area = its pixel count; segmentation = compressed RLE of the mask
(masks "rle", exact, holes kept) or its corner outlines (masks "polygon": one ring per part, holes
filled). Image ids follow the order of add(); annotation ids run over the whole file. Annotations are
spooled to a second temporary file and appended after the images on commit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from garbtui import __version__
from garbtui.core.export.objects import ImageLabels, ObjectLabel
from garbtui.core.export.stream import JsonArrayLines, StreamFile

CocoMasks = Literal["rle", "polygon"]
COCO_MASKS: tuple[str, ...] = ("rle", "polygon")


def compact(obj: object) -> str:
    """One-line JSON, as every dataset file is written (non-ASCII kept as is)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def segmentation(obj: ObjectLabel, masks: CocoMasks) -> Any:
    if masks == "polygon":
        return [[float(v) for pt in ring for v in pt] for ring in obj.polygons]
    return obj.rle


def annotation(obj: ObjectLabel, ann_id: int, image_id: int, category_id: int, masks: CocoMasks) -> dict[str, Any]:
    x0, y0, x1, y1 = obj.bbox
    return {
        "id": ann_id, "image_id": image_id, "category_id": category_id,
        "bbox": [x0, y0, x1 - x0, y1 - y0], "area": obj.area, "segmentation": segmentation(obj, masks),
        "iscrowd": 0,
        "attributes": {"crop_id": obj.crop_id, "placement_index": obj.placement_index,
                       "visible_fraction": obj.visible_fraction, "clipped": obj.clipped},
    }


class CocoWriter:
    """Streams one COCO instances file; categories fixed up front (id = position + 1)."""

    def __init__(self, path: Path, categories: Sequence[str], description: str, *, masks: CocoMasks = "rle",
                 supercategories: Mapping[str, str] | None = None) -> None:
        self.path = Path(path)
        self.masks = masks
        self.cat_id = {name: i + 1 for i, name in enumerate(categories)}
        self._main = StreamFile(self.path)
        self._anns_file = StreamFile(self.path.with_name(self.path.name + ".annotations"))
        supers = supercategories or {}
        head = {
            "info": {"description": description, "version": __version__},
            "licenses": [],
            "categories": [{"id": i + 1, "name": n, "supercategory": supers.get(n, "")}
                           for i, n in enumerate(categories)],
        }
        self._main.write(compact(head)[:-1] + ',\n"images":[')
        self._images = JsonArrayLines(self._main)
        self._anns = JsonArrayLines(self._anns_file)

    @property
    def images(self) -> int:
        return self._images.count

    def add(self, image: ImageLabels) -> None:
        image_id = self._images.count + 1
        entry: dict[str, Any] = {"id": image_id, "file_name": image.file_name, "width": image.width,
                                 "height": image.height}
        entry.update(image.coco_extra)
        self._images.add(compact(entry))
        for obj in image.objects:
            ann = annotation(obj, self._anns.count + 1, image_id, self.cat_id[obj.label], self.masks)
            self._anns.add(compact(ann))

    def commit(self) -> None:
        self._main.write('\n],\n"annotations":[')
        self._main.append_file(self._anns_file)
        self._main.write("\n]}\n")
        self._anns_file.discard()
        self._main.commit()

    def discard(self) -> None:
        self._anns_file.discard()
        self._main.discard()
