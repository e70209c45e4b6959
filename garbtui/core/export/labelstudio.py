"""Label Studio: tasks with the objects as predictions (a box and one outline each), and the labeling config.

Each object gives one `rectanglelabels` region (its box) and one `polygonlabels` region (its corner
outline, parts joined by zero-width bridges), in percent of the image: importing the tasks and
extracting them again gives one crop per object (the box and the outline pair up: same extent).
config.xml declares the controls the predictions name, with every class as a label.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from garbtui import __version__
from garbtui.core.export.coco import compact
from garbtui.core.export.objects import ImageLabels
from garbtui.core.export.stream import JsonArrayLines, StreamFile


@dataclass(frozen=True)
class LabelStudioNames:
    """Control names of the Label Studio config the predictions are for (defaults: the TACO sample config)."""

    image: str = "image"
    box: str = "box"
    polygon: str = "outline"


DEFAULT_LS_NAMES = LabelStudioNames()


def task(image: ImageLabels, image_ref: str, names: LabelStudioNames = DEFAULT_LS_NAMES) -> dict[str, Any]:
    """One task: `data.image` = image_ref, the objects as one prediction (percent units)."""
    w, h = image.width, image.height
    regions: list[dict[str, Any]] = []
    for obj in image.objects:
        x0, y0, x1, y1 = obj.bbox
        base = {"original_width": w, "original_height": h, "image_rotation": 0, "to_name": names.image,
                "origin": "prediction"}
        tag = f"o{obj.placement_index}"
        regions.append({**base, "id": f"{tag}b", "from_name": names.box, "type": "rectanglelabels",
                        "value": {"x": 100 * x0 / w, "y": 100 * y0 / h, "width": 100 * (x1 - x0) / w,
                                  "height": 100 * (y1 - y0) / h, "rotation": 0, "rectanglelabels": [obj.label]}})
        # Percent to 4 decimals: within 0.004 px on an 8192 px image, a third of the bytes of full floats.
        points = [[round(100 * x / w, 4), round(100 * y / h, 4)] for x, y in obj.outline()]
        if len(points) >= 3:
            regions.append({**base, "id": f"{tag}p", "from_name": names.polygon, "type": "polygonlabels",
                            "value": {"points": points, "closed": True, "polygonlabels": [obj.label]}})
    return {
        "data": {names.image: image_ref},
        "meta": dict(image.ls_meta),
        "predictions": [{"model_version": f"garbtui-{__version__}", "score": 1.0, "result": regions}],
    }


def config_xml(categories: Sequence[str], names: LabelStudioNames = DEFAULT_LS_NAMES) -> str:
    """A labeling config for the tasks: the image, a RectangleLabels and a PolygonLabels with every class."""
    labels = "".join(f"    <Label value={quoteattr(name)}/>\n" for name in categories)
    return (
        "<View>\n"
        f"  <Image name={quoteattr(names.image)} value={quoteattr('$' + names.image)} zoom=\"true\"/>\n"
        f"  <RectangleLabels name={quoteattr(names.box)} toName={quoteattr(names.image)}>\n{labels}"
        "  </RectangleLabels>\n"
        f"  <PolygonLabels name={quoteattr(names.polygon)} toName={quoteattr(names.image)}>\n{labels}"
        "  </PolygonLabels>\n"
        "</View>\n"
    )


class TaskWriter:
    """Streams a Label Studio import file: a JSON array of tasks, one per line."""

    def __init__(self, path: Path, prefix: str, names: LabelStudioNames = DEFAULT_LS_NAMES) -> None:
        self.prefix = prefix
        self.names = names
        self._out = StreamFile(Path(path))
        self._out.write("[")
        self._tasks = JsonArrayLines(self._out)

    def add(self, image: ImageLabels) -> None:
        self._tasks.add(compact(task(image, self.prefix + image.file_name, self.names)))

    def commit(self) -> None:
        self._out.write("\n]\n")
        self._out.commit()

    def discard(self) -> None:
        self._out.discard()
