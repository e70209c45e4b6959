"""Reader-neutral description of what to extract: images, their objects, and what was skipped."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from garbtui.core.errors import InputError

RegionKind = Literal["box", "polygon", "brush"]


@dataclass
class SourceRegion:
    """One annotated object as a reader found it, in the reader's own units.

    units "percent": Label Studio (0-100 of the EXIF-oriented image); "pixels": COCO.
    """

    kind: RegionKind
    label: str
    result_ids: list[str]
    units: Literal["percent", "pixels"]
    box: tuple[float, float, float, float] | None = None  # x, y, w, h
    rotation: float = 0.0
    parts: list[list[tuple[float, float]]] | None = None  # polygon parts
    brush_rle: list[int] | None = None  # Label Studio RLE
    coco_rle: dict[str, Any] | None = None
    declared_size: tuple[int, int] | None = None  # original_width/height (or COCO image width/height)
    where: str = ""


@dataclass
class SourceItem:
    """One image with the objects of one annotation (or prediction) on it."""

    image_ref: str
    source_kind: Literal["labelstudio", "coco"]
    task_id: str | None
    annotation_id: str | None
    regions: list[SourceRegion]
    from_prediction: bool = False
    scene: str | None = None
    surface: str | None = None
    task: dict[str, Any] = field(default_factory=dict)
    where: str = ""


@dataclass
class Skip:
    """Something left out, with where and why (shown in the extraction summary)."""

    where: str
    reason: str
    field: str | None = None  # the extraction parameter that would change this (see GarbError.field)


@dataclass
class ParsedExport:
    """What a reader made of an export: the items to extract and what it skipped."""

    format: str
    items: list[SourceItem]
    skipped: list[Skip]


def finite(value: Any, what: str = "coordinate") -> float:
    """`value` as a float; InputError (not a crash later on) for NaN, infinity or a non-number."""
    if isinstance(value, bool):
        raise InputError(f"{what} is true/false, not a number")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{what} {value!r:.40} is not a number") from None
    if not math.isfinite(number):
        raise InputError(f"{what} is {number}, not a finite number")
    return number


def declared_size(width: Any, height: Any) -> tuple[int, int] | None:
    """An export's stated image size, or None when it is missing, odd or not positive (the image then says)."""
    try:
        w, h = finite(width, "width"), finite(height, "height")
    except InputError:
        return None
    if w < 1 or h < 1 or w > 1e6 or h > 1e6:
        return None
    return int(w), int(h)
