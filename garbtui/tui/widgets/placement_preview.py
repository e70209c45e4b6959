"""The composite preview of the placement screen: render size for the box, box/horizon overlay, object list text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np
from rich.text import Text

from garbtui.tui.data import pixels
from garbtui.tui.widgets.image_view import Overlay, RenderSpec

if TYPE_CHECKING:
    from garbtui.core.compose.render import RenderResult

PREVIEW_OVERSAMPLE = 2  # render twice the cells' pixels: area-averaging down keeps small fragments visible
PREVIEW_MIN, PREVIEW_MAX = 64, 1600


def preview_max_size(spec: RenderSpec) -> int:
    """Longest side to render the preview at, so it is never much bigger than the box shows."""
    if spec.protocol == "halfcell":
        w, h = spec.cols, spec.rows * 2
    elif spec.protocol == "unicode":
        w, h = spec.cols, spec.rows
    else:
        w, h = spec.cols * spec.cell[0], spec.rows * spec.cell[1]
    return int(min(PREVIEW_MAX, max(PREVIEW_MIN, max(w, h) * PREVIEW_OVERSAMPLE)))


def object_colour(index: int) -> pixels.Colour:
    return pixels.PALETTE[index % len(pixels.PALETTE)]


def preview_overlay(
    boxes: Sequence[tuple[int, tuple[int, int, int, int], bool]],
    horizon_row: float | None,
    selected: int | None,
    contact: tuple[float, float] | None,
) -> Overlay:
    """Draws, on the shrunk composite: the horizon (dashed), each object's box (in render pixels), and a
    cross at the selected placement's contact point. boxes: (placement index, bbox, dropped)."""

    def overlay(rgb: np.ndarray, scale: tuple[float, float]) -> np.ndarray:
        out = rgb
        if horizon_row is not None:
            out = pixels.draw_horizon(out, horizon_row, scale[1])
        polys = []
        for index, (x0, y0, x1, y1), dropped in boxes:
            if dropped or x1 <= x0:
                continue
            colour = (255, 255, 255) if index == selected else object_colour(index)
            # x1/y1 are exclusive: the outline goes through the last visible pixel.
            polys.append(([(x0, y0), (x1 - 1, y0), (x1 - 1, y1 - 1), (x0, y1 - 1)], colour))
        if polys:
            out = pixels.draw_polygons(out, polys, scale)
        if contact is not None:
            out = np.ascontiguousarray(out.copy())
            cx, cy = int(round(contact[0] * scale[0])), int(round(contact[1] * scale[1]))
            cv2.drawMarker(out, (cx, cy), (255, 255, 255), cv2.MARKER_CROSS, 5, 1, cv2.LINE_8)
        return out

    return overlay


def objects_text(
    result: RenderResult | None,
    selected: int | None,
    *,
    error_style: str = "red",
    warn_style: str = "yellow",
    notes: Sequence[str] = (),
) -> Text:
    """One line per placed object (label, box in background pixels, visible share, scale), then warnings."""
    text = Text()
    if result is None:
        text.append("no render yet", style="italic")
    else:
        factor = result.factor or 1.0
        if not result.objects:
            text.append("no placements: a adds the highlighted fragment", style="italic")
        for obj in result.objects:
            i = obj.placement_index
            r, g, b = object_colour(i)
            marker = "▶" if i == selected else " "
            text.append(f"{marker}{i + 1:>2} ", style="bold" if i == selected else "")
            text.append("■ ", style=f"rgb({r},{g},{b})")
            text.append(f"{obj.label:<16.16}")
            if obj.dropped:
                text.append(f" dropped: {obj.drop_reason}", style=error_style)
            else:
                x0, y0, x1, y1 = (round(v / factor) for v in obj.bbox)
                text.append(f" box {x0},{y0}–{x1},{y1}  visible {obj.visible_fraction * 100:.0f}%")
                if obj.clipped:
                    text.append(" clipped", style=warn_style)
            if obj.scale is not None:
                text.append(f"  scale {obj.scale.scale:.3g} ({obj.scale.source})", style="dim")
            if not obj.in_area:
                text.append("  outside placement area", style=warn_style)
            text.append("\n")
        for warning in result.warnings:
            text.append(f"⚠ {warning}\n", style=warn_style)
    for note in notes:
        text.append(f"· {note}\n", style="italic")
    text.rstrip()
    return text
