"""The cluster legend of the cleanup screen: a numbered colour swatch per cluster, its share, kept or not."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

if TYPE_CHECKING:
    from garbtui.core.cleanup import ClusterStat


def legend_entries(
    stats: Sequence[ClusterStat], palette: Sequence[tuple[int, int, int]], kept_style: str, dropped_style: str
) -> list[Text]:
    """One entry per cluster: number, swatch (cluster colour, then its mean colour), share, kept or dropped."""
    entries = []
    for stat in stats:
        index = int(stat.index)
        r, g, b = palette[index] if index < len(palette) else (128, 128, 128)
        mr, mg, mb = stat.color
        text = Text()
        text.append(f" {index + 1} ", style="bold reverse" if stat.kept else "bold")
        text.append("██", style=f"rgb({r},{g},{b})")
        text.append("▌", style=f"rgb({mr},{mg},{mb})")
        text.append(f"{stat.share * 100:3.0f}% ")
        text.append("kept" if stat.kept else "drop", style=kept_style if stat.kept else dropped_style)
        entries.append(text)
    return entries


def flow(entries: Sequence[Text], width: int, gap: str = "   ") -> Text:
    """Entries side by side, starting a new line instead of splitting an entry."""
    out = Text()
    used = 0
    for entry in entries:
        need = entry.cell_len + (len(gap) if used else 0)
        if used and used + need > width:
            out.append("\n")
            used = 0
            need = entry.cell_len
        if used:
            out.append(gap)
        out.append_text(entry)
        used += need
    return out


class ClusterLegend(Static):
    """Shows the clusters of the latest cleanup run; `1`-`9` toggle them."""

    def show_stats(self, stats: Sequence[ClusterStat], palette: Sequence[tuple[int, int, int]]) -> None:
        from garbtui.tui.widgets.styles import theme_colour

        entries = legend_entries(stats, palette, theme_colour(self.app, "success", "green"), "dim")
        self.update(flow(entries, max(20, self.content_region.width or self.app.size.width)))
