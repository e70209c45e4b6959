"""One-line-per-item prompts for the placement screen's lists: backgrounds, cleaned fragments, placements."""

from __future__ import annotations

from rich.text import Text

from garbtui.core.workspace.models import BackgroundMeta, CropMeta, Placement
from garbtui.tui.widgets.placement_fields import format_number

LIST_TEXT = 40  # characters an entry may take: OptionList wraps longer ones, which reads badly in a list


def fit(text: str, width: int) -> str:
    """`text` cut to `width` characters with an ellipsis."""
    return text if len(text) <= width else text[: max(1, width - 1)] + "…"


def background_prompt(meta: BackgroundMeta) -> Text:
    """Two lines: scene kind and id; size and (road) horizon row."""
    horizon = f"h {meta.horizon_row:g}" if meta.horizon_row is not None else "no horizon"
    detail = f"{meta.width}×{meta.height}" + (f" · {horizon}" if meta.scene == "road" else "")
    return Text.assemble((f"{meta.scene:<6}", "bold"), f"{fit(meta.id, LIST_TEXT - 6)}\n", (f"      {detail}", "dim"),
                         no_wrap=True)


def fragment_prompt(meta: CropMeta) -> Text:
    """Label first (what the user looks for), then the crop id."""
    return Text.assemble((f"{meta.label:<18.18}", "bold"), " ", (fit(meta.id, LIST_TEXT - 19), "dim"), no_wrap=True)


def placement_prompt(index: int, p: Placement, label: str) -> Text:
    """`1 Drink can 300,420 ×auto 20° flip feather`: number (1-based), label, contact point, scale, extras."""
    scale = p.scale if isinstance(p.scale, str) else format_number(p.scale)
    text = Text.assemble((f"{index + 1:>2} ", "bold"), f"{label:<12.12}",
                         f" {format_number(p.x)},{format_number(p.y)}", (f" ×{scale}", "dim"), no_wrap=True)
    if p.rotation:
        text.append(f" {format_number(p.rotation)}°", style="dim")
    if p.flip:
        text.append(" flip", style="dim")
    text.append(f" {p.blend}", style="dim")
    return text
