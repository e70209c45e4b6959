"""The dataset browser: every generated image with its boxes and outlines, split and class filters,
objects per class, the recipe of the image, and `o` to open that recipe as a scene in its workspace."""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Header, Static

from garbtui.core.export.report import class_colour, draw_labels
from garbtui.tui.data.dataset import SPLIT_FILTERS, DatasetFilter, DatasetIndex, DatasetRow
from garbtui.tui.widgets.image_view import ImageView, RenderSpec, frame_pixels, make_frame

FIRST_BATCH = 200  # records read before the list is first filled with labels
BATCH = 2000


class RecordsLoaded(Message):
    """A batch of records was read; `done` says whether every image now has its labels."""

    def __init__(self, done: bool) -> None:
        super().__init__()
        self.done = done


class DatasetScreen(Screen[Any]):
    """Browse a dataset folder; enter or the arrows pick an image."""

    BINDINGS = [
        Binding("s", "cycle_split", "Split", tooltip="show all images, train only or val only"),
        Binding("l", "pick_class", "Class", tooltip="show only images with an object of one class"),
        Binding("x", "clear_filters", "Clear filters", tooltip="every image again"),
        Binding("o", "open_scene", "Open scene", tooltip="open the image's recipe as a scene in its workspace"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, index: DatasetIndex) -> None:
        super().__init__()
        self.index = index
        self.filter = DatasetFilter()
        self.shown: list[DatasetRow] = []
        self.records_done = False

    def compose(self) -> ComposeResult:
        yield Header(icon="▚")
        with Horizontal():
            with Vertical(id="ds-list-pane"):
                yield Static(id="ds-filter-bar")
                yield DataTable(id="ds-list", cursor_type="row", zebra_stripes=True)
                yield Static(id="ds-counts")
            with Vertical(id="ds-preview-pane"):
                yield Static("", id="ds-title", classes="pane-title")
                yield ImageView("no image selected", id="ds-view")
                with VerticalScroll(id="ds-info-scroll"):
                    yield Static("", id="ds-info")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#ds-list", DataTable)
        table.add_column("image", key="image")
        table.add_column("split", key="split")
        table.add_column("objects", key="objects")
        self.index.load(self.index.rows[:FIRST_BATCH])
        self.records_done = len(self.index.rows) <= FIRST_BATCH
        self.refill()
        self.show_counts()
        table.focus()
        if not self.records_done:
            self.load_records()

    @work(thread=True, exclusive=True, group="records")
    def load_records(self) -> None:
        rows = self.index.rows
        for start in range(FIRST_BATCH, len(rows), BATCH):
            self.index.load(rows[start:start + BATCH])
            self.post_message(RecordsLoaded(start + BATCH >= len(rows)))

    def on_records_loaded(self, message: RecordsLoaded) -> None:
        self.records_done = message.done
        if self.filter.label is not None or message.done:
            self.refill()
        self.show_counts()

    # -- the list ---------------------------------------------------------------------------
    def refill(self) -> None:
        table = self.query_one("#ds-list", DataTable)
        current = self.current_row()
        self.shown = [r for r in self.index.rows if self.filter.accepts(r)]
        table.clear()
        for row in self.shown:
            table.add_row(row.name, row.split, str(row.objects) if row.loaded and not row.error else "?",
                          key=row.name)
        pending = "" if self.records_done else "  (reading labels...)"
        self.query_one("#ds-filter-bar", Static).update(
            Text(f"{len(self.shown)} of {len(self.index.rows)} images  {self.filter.describe()}{pending}"))
        if self.shown:
            names = [r.name for r in self.shown]
            table.move_cursor(row=names.index(current.name) if current and current.name in names else 0,
                              animate=False)
            self.show_row(self.current_row())
        else:
            self.query_one("#ds-view", ImageView).clear("no image matches the filters")
            self.query_one("#ds-info", Static).update("")
            self.query_one("#ds-title", Static).update("")

    def current_row(self) -> DatasetRow | None:
        table = self.query_one("#ds-list", DataTable)
        if not self.shown or table.row_count == 0:
            return None
        return self.shown[min(max(table.cursor_row, 0), len(self.shown) - 1)]

    @on(DataTable.RowHighlighted, "#ds-list")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_row(self.current_row())

    def show_counts(self) -> None:
        text = Text()
        text.append(f"{'class':<26} {'train':>6} {'val':>6}\n", style="bold")
        for i, (name, (train, val)) in enumerate(sorted(self.index.class_counts().items())):
            r, g, b = class_colour(self.index.classes.index(name) if name in self.index.classes else i)
            text.append("■ ", style=f"rgb({r},{g},{b})")
            text.append(f"{name[:24]:<24} {train:>6} {val:>6}\n")
        self.query_one("#ds-counts", Static).update(text)

    # -- one image ----------------------------------------------------------------------------
    def show_row(self, row: DatasetRow | None) -> None:
        if row is None:
            return
        if not row.loaded:
            self.index.load([row])
        self.query_one("#ds-title", Static).update(Text(f"{row.file_name}  ({row.split})"))
        self.query_one("#ds-info", Static).update(self.info_text(row))
        path = self.index.root / row.file_name
        objects = row.record.objects if row.record else []
        classes = self.index.classes

        def make(spec: RenderSpec) -> Any:
            from garbtui.core.workspace.imageio import read_rgb

            rgb = read_rgb(path)
            h, w = rgb.shape[:2]
            _, _, pw, _ = frame_pixels(spec, w, h)
            drawn = np.asarray(draw_labels(rgb, objects, classes, scale=max(pw, 1) / w, names=False))
            return make_frame(drawn, spec, None)

        self.query_one("#ds-view", ImageView).show(("dataset", str(path), len(objects)), make)

    def info_text(self, row: DatasetRow) -> Text:
        text = Text()
        if row.error:
            text.append(row.error + "\n", style="bold red")
        rec = row.record
        if rec is None:
            return text
        counts: dict[str, int] = {}
        for obj in rec.objects:
            counts[obj.label] = counts.get(obj.label, 0) + 1
        text.append(f"{len(rec.objects)} object(s)", style="bold")
        if rec.dropped:
            why = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in rec.drops.items() if n) or f"{rec.dropped}"
            text.append(f", {rec.dropped} placement(s) left out ({why})")
        text.append("\n")
        for label, n in sorted(counts.items()):
            i = self.index.classes.index(label) if label in self.index.classes else 0
            r, g, b = class_colour(i)
            text.append("■ ", style=f"rgb({r},{g},{b})")
            text.append(f"{label} ×{n}\n")
        recipe = rec.recipe
        text.append("\nrecipe ", style="bold")
        text.append(f"recipes/{recipe.name}.json: background {recipe.background_id}, window "
                    f"{', '.join(f'{v:g}' for v in recipe.window)}, {recipe.size[0]}x{recipe.size[1]}, "
                    f"seed {recipe.seed}, scene {recipe.index}{f' ({recipe.variant})' if recipe.variant else ''}\n")
        for i, p in enumerate(recipe.placements):
            kept = next((o for o in rec.objects if o.placement_index == i), None)
            state = f"visible {kept.visible_fraction:.0%}" if kept else "left out"
            text.append(f"  {i}. {p.crop_id} at ({p.x:g}, {p.y:g}) scale {p.scale} rot {p.rotation:g}"
                        f"{' flipped' if p.flip else ''} {p.blend}: {state}\n")
        return text

    # -- actions ----------------------------------------------------------------------------
    def action_cycle_split(self) -> None:
        self.filter.split = SPLIT_FILTERS[(SPLIT_FILTERS.index(self.filter.split) + 1) % len(SPLIT_FILTERS)]
        self.refill()

    def action_pick_class(self) -> None:
        from garbtui.tui.dialogs.choice import ChoiceDialog

        options: list[tuple[object, str]] = [(None, "any class")] + [(c, c) for c in self.index.classes]

        def chosen(value: object) -> None:
            if value is ChoiceDialog.CANCELLED:
                return
            self.filter.label = value if isinstance(value, str) else None
            self.refill()

        self.app.push_screen(ChoiceDialog("Show images with an object of", options, self.filter.label), chosen)

    def action_clear_filters(self) -> None:
        self.filter = DatasetFilter()
        self.refill()

    def action_open_scene(self) -> None:
        row = self.current_row()
        if row is None or row.record is None:
            self.notify("This image has no recipe to open.", severity="warning")
            return
        ws_root = self.index.workspace
        if ws_root is None:
            self.notify("The workspace this dataset was made from is not there any more (see generate.json).",
                        severity="warning", timeout=6)
            return
        from garbtui.core.errors import GarbError
        from garbtui.core.generate.recipe import recipe_scene
        from garbtui.core.workspace.ids import slugify
        from garbtui.core.workspace.store import Workspace

        scene_id = slugify(f"{self.index.root.name}-{row.name}", 100)
        try:
            ws = Workspace.open(ws_root)
            if scene_id not in ws.scene_ids():
                ws.save_scene(recipe_scene(row.record.recipe, scene_id))
        except GarbError as exc:
            self.notify(f"Cannot open the scene: {exc}", severity="error", timeout=8)
            return
        self.app.exit(result=(ws_root, scene_id))

    def action_help(self) -> None:
        self.app.push_screen(DatasetHelp())


class DatasetHelp(ModalScreen[None]):
    """The browser's keys; escape, q or ? closes it."""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
        Binding("question_mark", "close", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        from rich.console import Group

        from garbtui.tui.screens.help import _section

        bindings = [b for b in DatasetScreen.BINDINGS if isinstance(b, Binding)]
        # help's sections are two-column tables (descriptions wrap under their own column)
        text = Group(Text("garbtui dataset browser\n", style="bold"),
                     _section("Dataset", bindings, [("up down pgup pgdn", "move through the images")]))
        with VerticalScroll(id="help-body"):
            yield Static(text, id="help-text")

    def action_close(self) -> None:
        self.dismiss(None)
