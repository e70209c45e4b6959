"""The cluster legend of the cleanup screen: per number its colour, share, and whether it is in the final cutout.

The legend always lists every cluster, so the numbers stay readable when the picture is too small to
write them on (at 80x24 the cluster panel is a few cells wide) or when numbers would overlap there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from garbtui.core.cleanup.keys import PARTIAL

if TYPE_CHECKING:
    from garbtui.core.cleanup import ClusterStat



def state_word(stat: ClusterStat) -> str:
    """'in' / 'out' of the final cutout, or the share of the cluster's pixels in it when only part of it is."""
    if stat.inside >= PARTIAL[1]:
        return "in"
    if stat.inside <= PARTIAL[0]:
        return "out"
    return f"{stat.inside * 100:.0f}% in"


def legend_entries(
    stats: Sequence[ClusterStat], palette: Sequence[tuple[int, int, int]], kept_style: str, dropped_style: str
) -> list[Text]:
    """One entry per cluster: number, swatch (cluster colour, then its mean colour), share of the crop, in/out."""
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
        # The number is reversed when its key takes the cluster out (it is kept), plain when the key puts it in.
        text.append(state_word(stat), style=kept_style if stat.inside > PARTIAL[0] else dropped_style)
        entries.append(text)
    return entries


def flow(entries: Sequence[Text], width: int, gap: str = "  ") -> Text:
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


def heading(precise: bool) -> Text:
    """What the keys do, and who decides the cutout."""
    if precise:
        return Text("the drawn outline decides · 1-9 take a cluster out of it or put it back",
                    style="italic")
    return Text("1-9 take a cluster out of the cutout (reversed number) or put all of it in", style="italic")


class ClusterLegend(Static):
    """Shows the clusters of the latest cleanup run; `1`-`9` toggle them."""

    def show_stats(self, stats: Sequence[ClusterStat], palette: Sequence[tuple[int, int, int]], precise: bool = False
                   ) -> None:
        from garbtui.tui.widgets.styles import theme_colour

        width = max(20, self.content_region.width or self.app.size.width)
        entries = legend_entries(stats, palette, theme_colour(self.app, "success", "green"), "dim")
        text = flow(entries, width)
        head = heading(precise)
        head.truncate(width, overflow="ellipsis")
        self.update(Text("\n").join([head, text]))
