"""Label Studio prediction checks calibrated against label-studio-sdk's own verdicts (tests/data/labelstudio_sdk).

label-studio-sdk cannot be installed beside garbtui (it pins numpy and opencv below today's releases), so
the suite checks predictions with this validator instead, and test_labelstudio_reference proves that it
gives the SDK's verdict on every recorded case (make_reference.py records them in a venv of its own).
"""

from __future__ import annotations

import math
from typing import Any
from xml.etree import ElementTree as ET

# Label Studio control tags with the result `type` they produce.
_CONTROL_TYPES = {
    "RectangleLabels": "rectanglelabels",
    "PolygonLabels": "polygonlabels",
    "BrushLabels": "brushlabels",
    "KeyPointLabels": "keypointlabels",
    "Labels": "labels",
    "Choices": "choices",
}
_GEOMETRY = {"rectanglelabels": ("x", "y", "width", "height", "rotation"), "polygonlabels": ("points",)}


class LabelConfig:
    """The controls of a labeling config: name -> (result type, toName, allowed labels)."""

    def __init__(self, xml: str) -> None:
        root = ET.fromstring(xml)
        self.objects = {el.get("name") for el in root.iter() if el.tag in ("Image", "Text", "Audio", "Video")}
        self.controls: dict[str, tuple[str, str, set[str]]] = {}
        for el in root.iter():
            if el.tag in _CONTROL_TYPES:
                labels = {lab.get("value", "") for lab in el if lab.tag in ("Label", "Choice")}
                self.controls[el.get("name", "")] = (_CONTROL_TYPES[el.tag], el.get("toName", ""), labels)

    def errors(self, prediction: dict[str, Any]) -> list[str]:
        """Every problem of a prediction, as the SDK's validate_prediction finds them (empty: valid)."""
        out: list[str] = []
        for i, region in enumerate(prediction.get("result", [])):
            out += [f"region {i}: {e}" for e in self._region_errors(region)]
        return out

    def _region_errors(self, region: dict[str, Any]) -> list[str]:
        missing = [k for k in ("from_name", "to_name", "type", "value") if k not in region]
        if missing:
            return [f"missing {missing}"]
        if region["from_name"] not in self.controls:
            return [f"from_name {region['from_name']!r} not in the config"]
        kind, to_name, labels = self.controls[region["from_name"]]
        if region["to_name"] not in self.objects or region["to_name"] != to_name:
            return [f"to_name {region['to_name']!r} not in the config"]
        if region["type"] != kind:
            return [f"type {region['type']!r} is not {kind!r}"]
        value = region["value"]
        errors = [f"label {lab!r} unknown" for lab in value.get(kind, []) if lab not in labels]
        if kind == "rectanglelabels":
            for key in ("x", "y"):
                if not _in_percent(value.get(key)):
                    errors.append(f"{key} {value.get(key)!r} out of [0, 100]")
        elif kind == "polygonlabels":
            for point in value.get("points", []):
                if len(point) != 2 or not all(_in_percent(c) for c in point):
                    errors.append(f"point {point!r} out of [0, 100]")
        missing_fields = [k for k in _GEOMETRY.get(kind, ()) if k not in value and k != "rotation"]
        return errors + [f"value lacks {missing_fields}"] * bool(missing_fields)


def _in_percent(v: Any) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v) and 0 <= v <= 100
