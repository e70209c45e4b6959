"""The crop list: a virtual list (Line API) that draws only visible rows, so 5,000 crops cost nothing.

Rows are plain data (CropRow); each drawn line is cached per (row, cursor, width), so moving the cursor
repaints two lines. Columns: label, scene, size, status, crop id (a broken crop shows its
reason; a suspect cutout, listed first, its confidence and why).
"""

from __future__ import annotations

from rich.segment import Segment
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from garbtui.tui.data.ids import middle_ellipsis
from garbtui.tui.data.queue import CropRow

COLUMNS: tuple[tuple[str, int], ...] = (("label", 26), ("scene", 8), ("size", 10), ("status", 9), ("crop", 0))
MIN_LABEL = 12


def columns(width: int) -> tuple[tuple[str, int], ...]:
    """Column widths for a list `width` cells wide: the label column gives way first, down to MIN_LABEL."""
    fixed = sum(w for name, w in COLUMNS if name != "label")
    label = max(MIN_LABEL, min(COLUMNS[0][1], width - fixed - 12))
    return (("label", label),) + COLUMNS[1:]


def _fit(text: str, width: int) -> str:
    if width <= 0:
        return text
    return text[: width - 2] + "… " if len(text) > width - 1 else text.ljust(width)


def header_text(width: int = 200) -> str:
    return "".join(_fit(name, w) for name, w in columns(width))


class CropList(ScrollView, can_focus=True):
    """Keyboard: up/down/page up/page down/home/end move; enter selects. Mouse: click selects a row."""

    COMPONENT_CLASSES = {
        "crop-list--cursor",
        "crop-list--odd",
        "crop-list--pending",
        "crop-list--done",
        "crop-list--broken",
        "crop-list--suspect",
    }
    DEFAULT_CSS = """
    CropList { background: $surface; overflow-x: hidden; }
    CropList > .crop-list--cursor { background: $block-cursor-background; color: $block-cursor-foreground; text-style: bold; }
    CropList:blur > .crop-list--cursor { background: $block-cursor-blurred-background; color: $foreground; text-style: none; }
    CropList > .crop-list--odd { background: $boost; }
    CropList > .crop-list--pending { color: $warning; }
    CropList > .crop-list--done { color: $success; }
    CropList > .crop-list--suspect { color: $error; text-style: bold; }
    CropList > .crop-list--broken { color: $error; }
    """
    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
        Binding("enter", "select", "Clean crop"),  # in the footer: it wins over the screen's enter
    ]

    class Highlighted(Message):
        """The cursor moved to `crop_id` (None: the list is empty)."""

        def __init__(self, crop_list: CropList, crop_id: str | None) -> None:
            super().__init__()
            self.crop_list = crop_list
            self.crop_id = crop_id

    class Selected(Message):
        """Enter (or a click on the highlighted row) on `crop_id`."""

        def __init__(self, crop_list: CropList, crop_id: str) -> None:
            super().__init__()
            self.crop_list = crop_list
            self.crop_id = crop_id

    def __init__(self, *, id: str | None = None, header: Static | None = None) -> None:  # noqa: A002 - Textual's keyword for a widget's id
        super().__init__(id=id)
        self.header = header  # a one-line Static above the list that shows the column names
        self.rows: list[CropRow] = []
        self._index: dict[str, int] = {}
        self.cursor = 0
        self._cache: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)

    # -- data -------------------------------------------------------------------------------
    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.rows]

    @property
    def current_id(self) -> str | None:
        return self.rows[self.cursor].id if 0 <= self.cursor < len(self.rows) else None

    def fill(self, rows: list[CropRow], keep: str | None = None) -> None:
        """Replace the rows; the cursor stays on `keep` (default: the current crop) when it is still listed."""
        keep = keep if keep is not None else self.current_id
        old = self.cursor
        self.rows = rows
        self._index = {r.id: i for i, r in enumerate(rows)}
        self._cache.clear()
        self.virtual_size = Size(self._line_width(), len(rows))
        target = self._index.get(keep) if keep is not None else None
        self.cursor = target if target is not None else min(max(old, 0), max(len(rows) - 1, 0))
        self.scroll_to_cursor(animate=False)
        self.refresh()
        self.post_message(self.Highlighted(self, self.current_id))

    def update_row(self, row: CropRow) -> None:
        index = self._index.get(row.id)
        if index is None:
            return
        self.rows[index] = row
        self._cache.clear()
        self.refresh_lines(index, 1)

    def _line_width(self) -> int:
        # No sideways scrolling: the crop id is last and is cut at the edge (the preview title shows it whole).
        return self.size.width

    # -- drawing ----------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = y + scroll_y
        width = self.size.width
        base = self.rich_style
        if index >= len(self.rows):
            return Strip.blank(width, base)
        row = self.rows[index]
        cursor = index == self.cursor
        key = (index, id(row), cursor, width, scroll_x, self.has_focus)
        strip = self._cache.get(key)
        if strip is None:
            strip = self._make_line(row, index, cursor).crop_extend(scroll_x, scroll_x + width, base)
            self._cache[key] = strip
        return strip

    def _make_line(self, row: CropRow, index: int, cursor: bool) -> Strip:
        style = self.rich_style
        if index % 2:
            style = style + self.get_component_rich_style("crop-list--odd")
        if cursor:
            style = style + self.get_component_rich_style("crop-list--cursor")
        status = "suspect" if row.suspect else row.status
        status_style = style if cursor else style + self.get_component_rich_style(f"crop-list--{status}")
        cols = columns(self.size.width)
        room = self.size.width - sum(w for _, w in cols[:4])  # the crop id, cut in the middle, stays unique
        short = middle_ellipsis(row.id, room) if room > 0 else row.id
        crop = short
        if row.status == "broken":
            crop = f"{row.reason or 'unreadable'} · {short}"
        elif row.suspect:
            crop = f"{row.why} · {short}"
        cells = (row.label, row.scene, row.size, status)
        segments = [Segment(_fit(text, w), style) for text, (_, w) in zip(cells[:3], cols, strict=False)]
        segments.append(Segment(_fit(status, cols[3][1]), status_style))
        segments.append(Segment(crop, status_style if status in ("broken", "suspect") and not cursor else style))
        width = self._line_width()
        strip = Strip(segments)
        if strip.cell_length > width and width > 1:
            return strip.crop(0, width - 1).extend_cell_length(width - 1, style).extend_cell_length(width, style)
        return strip.extend_cell_length(width, style)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    def on_resize(self, event: events.Resize) -> None:
        self._cache.clear()
        self.virtual_size = Size(self._line_width(), len(self.rows))
        if self.header is not None:
            self.header.update(header_text(self.size.width), layout=False)

    def _on_focus(self, event: events.Focus) -> None:
        self._cache.clear()
        self.refresh()

    def _on_blur(self, event: events.Blur) -> None:
        self._cache.clear()
        self.refresh()

    # -- cursor -----------------------------------------------------------------------------
    def move_to(self, index: int) -> None:
        if not self.rows:
            return
        index = min(max(index, 0), len(self.rows) - 1)
        if index == self.cursor:
            return
        old = self.cursor
        self.cursor = index
        self.refresh_lines(old, 1)
        self.refresh_lines(index, 1)
        self.scroll_to_cursor(animate=False)
        self.post_message(self.Highlighted(self, self.current_id))

    def scroll_to_cursor(self, animate: bool = False) -> None:
        if self.rows:
            self.scroll_to_region(
                Region(0, self.cursor, 1, 1), animate=animate, force=True, immediate=True, x_axis=False
            )

    def action_cursor(self, step: int) -> None:
        self.move_to(self.cursor + step)

    def action_page(self, direction: int) -> None:
        self.move_to(self.cursor + direction * max(1, self.size.height - 1))

    def action_jump(self, where: int) -> None:
        self.move_to(0 if where == 0 else len(self.rows) - 1)

    def action_select(self) -> None:
        if self.current_id is not None:
            self.post_message(self.Selected(self, self.current_id))

    async def _on_click(self, event: events.Click) -> None:
        index = event.y + int(self.scroll_offset.y)
        if 0 <= index < len(self.rows):
            if index == self.cursor:
                self.action_select()
            else:
                self.move_to(index)
