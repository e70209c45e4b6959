"""The cluster legend of the cleanup screen: a numbered colour swatch per cluster, its share, kept or not."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.widgets import Static


def legend_text(stats: Sequence[Any], palette: Sequence[tuple[int, int, int]], kept_style: str, dropped_style: str) -> Text:
    """One entry per cluster: `[1] ██ 23% kept`. Swatches use the same colours as the clusters panel."""
    text = Text()
    for stat in stats:
        index = int(stat.index)
        r, g, b = palette[index] if index < len(palette) else (128, 128, 128)
        mr, mg, mb = stat.color
        text.append(f" {index + 1} ", style="bold reverse" if stat.kept else "bold")
        text.append("██", style=f"rgb({r},{g},{b})")
        text.append("▌", style=f"rgb({mr},{mg},{mb})")
        text.append(f"{stat.share * 100:4.0f}% ", style="")
        text.append("kept   " if stat.kept else "dropped", style=kept_style if stat.kept else dropped_style)
        text.append("  ")
    return text


class ClusterLegend(Static):
    """Shows the clusters of the latest cleanup run; `1`-`9` toggle them."""

    def show_stats(self, stats: Sequence[Any], palette: Sequence[tuple[int, int, int]]) -> None:
        from garbtui.tui.widgets.styles import theme_colour

        self.update(legend_text(stats, palette, theme_colour(self.app, "success", "green"), "dim"))
