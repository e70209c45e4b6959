"""The crop list: a DataTable of CropRows (id, label, scene, size, status) that keeps its cursor on refills."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from garbtui.tui.data.queue import CropRow

COLUMNS = ("label", "scene", "size", "status", "crop")


class CropTable(DataTable):
    """Rows keyed by crop id; `fill` replaces the rows and keeps the highlighted crop when it is still listed."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._columns_added = False

    def on_mount(self) -> None:
        for name in COLUMNS:
            self.add_column(name, key=name)
        self._columns_added = True

    def status_text(self, row: CropRow) -> Text:
        from garbtui.tui.widgets.styles import theme_colour

        if row.status == "pending":
            return Text("pending", style=theme_colour(self.app, "warning"))
        if row.status == "done":
            return Text("done", style=theme_colour(self.app, "success"))
        reason = f"broken: {row.reason}" if row.reason else "broken"
        return Text(reason, style=theme_colour(self.app, "error"))

    def cells(self, row: CropRow) -> tuple[object, ...]:
        return (row.label, row.scene, row.size, self.status_text(row), row.id)

    @property
    def current_id(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except Exception:  # cursor outside the rows while refilling
            return None
        return key.value

    def fill(self, rows: list[CropRow], keep: str | None = None) -> None:
        keep = keep if keep is not None else self.current_id
        old_row = self.cursor_row
        self.clear()
        if not rows:
            return
        for r in rows:
            self.add_row(*self.cells(r), key=r.id)
        ids = [r.id for r in rows]
        if keep in ids:
            self.move_cursor(row=ids.index(keep), animate=False, scroll=True)
        else:
            self.move_cursor(row=min(max(old_row, 0), len(rows) - 1), animate=False, scroll=True)

    def update_row(self, row: CropRow) -> None:
        """Change one row's cells in place (after a save, say)."""
        if row.id not in self.rows:
            return
        for name, value in zip(COLUMNS, self.cells(row), strict=True):
            self.update_cell(row.id, name, value)
