"""The composite preview of the placement screen: render size for the box, box/horizon overlay, object list
text, the 1:1 zoom on the selected object (`z`), and the bound on typed scales.

Zoom: the scene is rendered at full resolution and the preview shows a window around the selected
object in which one photo pixel is at least one screen pixel (Kitty/Sixel pixels, or half-cell
pixels), enlarged by a whole factor with nearest-neighbour when the object is small, without overlays,
so blend, colour match and shadow can be judged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np
from rich.text import Text

from garbtui.tui.data import pixels
from garbtui.tui.widgets.image_view import ImageView, Overlay, RenderSpec

if TYPE_CHECKING:
    from garbtui.core.compose.render import RenderResult

PREVIEW_OVERSAMPLE = 2  # render twice the cells' pixels: area-averaging down keeps small fragments visible
PREVIEW_MIN, PREVIEW_MAX = 64, 1600
ZOOM_RENDER = 1 << 15  # "longest side" when zoomed: every photo renders at full resolution
ZOOM_MARGIN = 0.35  # context around the object in the zoom window (share of its size, each side)
ZOOM_MAX_FACTOR = 16


def box_pixels(spec: RenderSpec) -> tuple[int, int]:
    """The pixels the preview box shows: half-cell pixels, characters, or screen pixels (graphics)."""
    if spec.protocol == "halfcell":
        return spec.cols, spec.rows * 2
    if spec.protocol == "unicode":
        return spec.cols, spec.rows
    w, h = spec.cols * spec.cell[0], spec.rows * spec.cell[1]
    if spec.protocol == "sixel" and spec.sixel_max is not None:
        w, h = min(w, spec.sixel_max[0]), min(h, spec.sixel_max[1])
    return max(1, w), max(1, h)


def zoom_window(image_size: tuple[int, int], focus: tuple[int, int, int, int], box: tuple[int, int]
                ) -> tuple[tuple[int, int, int, int], int]:
    """((x0, y0, x1, y1) to cut from the full-resolution render, whole enlargement factor >= 1).

    The window is centred on the object (with some context) and, enlarged by the factor, fits the box:
    the object is shown at 1:1 or larger; an object bigger than the box at 1:1 is cut, never shrunk.
    """
    W, H = image_size
    bw, bh = box
    x0, y0, x1, y1 = focus
    ow, oh = max(1, x1 - x0), max(1, y1 - y0)
    want_w = ow * (1 + 2 * ZOOM_MARGIN) + 8
    want_h = oh * (1 + 2 * ZOOM_MARGIN) + 8
    factor = int(max(1, min(ZOOM_MAX_FACTOR, bw / want_w, bh / want_h)))
    ww, wh = min(W, max(1, bw // factor)), min(H, max(1, bh // factor))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left = int(round(min(max(0, cx - ww / 2), W - ww)))
    top = int(round(min(max(0, cy - wh / 2), H - wh)))
    return (left, top, left + ww, top + wh), factor


class PreviewOverlay:
    """The overlay for the normal preview, and the zoom for `z` (used by image_view.make_frame)."""

    def __init__(self, draw: Overlay, focus: tuple[int, int, int, int] | None) -> None:
        self.draw = draw
        self.focus = focus  # the selected object's box in render pixels

    def __call__(self, rgb: np.ndarray, scale: tuple[float, float]) -> np.ndarray:
        return self.draw(rgb, scale)

    def zoom(self, image: np.ndarray, spec: RenderSpec) -> np.ndarray | None:
        """The zoom window of a full-resolution render, enlarged to fit the box; None without a focus."""
        if self.focus is None:
            return None
        h, w = image.shape[:2]
        (x0, y0, x1, y1), factor = zoom_window((w, h), self.focus, box_pixels(spec))
        window = np.ascontiguousarray(image[y0:y1, x0:x1])
        if factor > 1:
            window = cv2.resize(window, (window.shape[1] * factor, window.shape[0] * factor),
                                interpolation=cv2.INTER_NEAREST)
        return window


def toggle_zoom(view: ImageView, selected: int | None) -> str | None:
    """`z` on the placement screen: zoom the preview to the selected object at 1:1, or back out.

    Returns a warning for the user when there is nothing to zoom to, else None (the caller re-renders)."""
    if not view.zoom and selected is None:
        return "Zoom: select a placement first (a adds one)."
    view.zoom = not view.zoom
    return None


def preview_max_size(spec: RenderSpec) -> int:
    """Longest side to render the preview at, so it is never much bigger than the box shows."""
    if spec.zoom:
        return ZOOM_RENDER
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
    cross at the selected placement's contact point. boxes: (placement index, bbox, dropped).
    Returns a PreviewOverlay, which also knows the selected object's box for the zoom."""

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

    focus = next((bbox for index, bbox, dropped in boxes if index == selected and not dropped and bbox[2] > bbox[0]),
                 None)
    return PreviewOverlay(overlay, tuple(int(v) for v in focus) if focus is not None else None)  # type: ignore[arg-type]


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
                text.append(f"  scale {obj.scale.scale:.3g} ({obj.scale.words})", style="dim")
            if not obj.in_area:
                text.append("  outside placement area", style=warn_style)
            text.append("\n")
        for warning in result.warnings:
            text.append(f"⚠ {warning}\n", style=warn_style)
    for note in notes:
        text.append(f"· {note}\n", style="italic")
    text.rstrip()
    return text
