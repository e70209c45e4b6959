"""Source photos (with their annotated objects outlined) and clean backgrounds: scene kind, horizon, add,
and the surfaces view of a background (`g`): its own k-means regions, toggled as ground with 1-9, saved
as seg.json + seg.png with `s`.

Over 400 lines on purpose: two lists (photos, backgrounds) share one preview and one set of keys; the surfaces
view is a mode of the same screen, not a screen of its own.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane
from textual.widgets.data_table import RowDoesNotExist

from garbtui.core.errors import GarbError
from garbtui.core.scene.horizon import HorizonEstimate
from garbtui.core.workspace.models import BackgroundMeta, CropMeta, ImageMeta, SceneKind
from garbtui.tui.data import pixels
from garbtui.tui.data.queue import CropRow
from garbtui.tui.data.surfaces_view import SurfaceEdit
from garbtui.tui.screens.base import GarbScreen
from garbtui.tui.widgets.image_view import Frame, ImageView, RenderSpec, make_frame

SCENES: tuple[SceneKind, ...] = ("road", "front", "unknown")
BACKGROUND_SCENES: tuple[SceneKind, ...] = ("road", "front")
Table = DataTable[str | Text]  # for annotations only
NUDGE = 0.01  # [ and ] move the horizon by 1 % of the photo height


def region_outline(meta: CropMeta) -> list[tuple[float, float]]:
    """The annotated region of a crop as a closed outline in source-image pixels."""
    region = meta.region
    if region.kind == "polygon" and region.points:
        return list(region.points)
    if region.corners:
        return list(region.corners)
    b = region.bbox
    return [(b.x0, b.y0), (b.x1, b.y0), (b.x1, b.y1), (b.x0, b.y1)]


class ImagesScreen(GarbScreen):
    """Browse photos and backgrounds; `b` switches between the two lists."""

    BINDINGS = [
        Binding("b", "switch_list", "Switch tab", tooltip="switch between source photos and backgrounds"),
        Binding("k", "cycle_scene", "Scene", tooltip="cycle road / front (/ unknown) and save"),
        Binding("h", "set_horizon", "Horizon", tooltip="type the horizon row in pixels"),
        Binding("left_square_bracket", "nudge(-1)", "Horizon up", key_display="[", show=False,
                tooltip="move the horizon up by 1 % of the height"),
        Binding("right_square_bracket", "nudge(1)", "Horizon down", key_display="]", show=False,
                tooltip="move the horizon down by 1 % of the height"),
        Binding("e", "estimate", "Estimate horizon", show=False, tooltip="estimate it from lane and kerb lines"),
        Binding("a", "add_background", "Add background", tooltip="copy a clean photo into the workspace"),
        Binding("g", "surfaces", "Surfaces", tooltip="background: show its regions; 1-9 toggle ground, s saves seg.json"),
        Binding("1", "toggle_region(0)", "Toggle ground", key_display="1-9",
                tooltip="surfaces view: region 1 is ground or not (2-9 for the others)"),
        *[Binding(str(i + 1), f"toggle_region({i})", f"Toggle region {i + 1}", show=False, id=f"region-{i + 1}")
          for i in range(1, 9)],
        Binding("s", "save_surfaces", "Save surfaces", tooltip="surfaces view: write seg.json + seg.png"),
        Binding("escape", "back", "Back", show=False, tooltip="back to the crop queue"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._boxes: dict[str, list[CropMeta]] | None = None
        self._reading = False
        self.surfaces: SurfaceEdit | None = None  # the surfaces view of the shown background, when open
        self._surfaces_wanted: str | None = None  # the background whose regions are being computed

    def compose(self) -> ComposeResult:
        yield Header(icon="▚")
        with Horizontal():
            with Vertical(id="images-list-pane"), TabbedContent(id="image-tabs"):
                with TabPane("Photos", id="tab-photos"):
                    yield DataTable(id="photos-table", cursor_type="row", zebra_stripes=True)
                with TabPane("Backgrounds", id="tab-backgrounds"):
                    yield DataTable(id="backgrounds-table", cursor_type="row", zebra_stripes=True)
            with Vertical(id="images-preview-pane"):
                yield Static("", id="photo-title", classes="pane-title")
                yield ImageView("no photo selected", id="photo-view")
                yield Static("", id="photo-info")
        yield Footer()

    def on_mount(self) -> None:
        photos = self._table("#photos-table")
        photos.add_columns("photo", "scene", "size", "horizon", "objs")
        backgrounds = self._table("#backgrounds-table")
        backgrounds.add_columns("background", "scene", "size", "horizon")
        self.fill_photos()
        self.fill_backgrounds()
        photos.focus()

    # -- lists ------------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return "background" if self.query_one(TabbedContent).active == "tab-backgrounds" else "image"

    @property
    def table(self) -> Table:
        return self._table("#backgrounds-table" if self.kind == "background" else "#photos-table")

    def _table(self, selector: str) -> Table:
        table: Table = self.query_one(selector, DataTable)  # a subscripted class cannot be a query's type
        return table

    @property
    def current_id(self) -> str | None:
        table = self.table
        if table.row_count == 0:
            return None
        key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return key.value if key.value is not None else None

    def boxes(self) -> dict[str, list[CropMeta]]:
        """Crop metas per source image id, from the metas read so far (the queue reads the rest in a thread)."""
        if self._boxes is None:
            queue = self.garb.queue
            missing = [r.id for r in queue.rows.values() if not r.loaded]
            if missing and not self._reading:
                # Thousands of metas take seconds: read them off the UI thread, then redraw with all boxes.
                self._reading = True
                self.run_worker(lambda: self._read_missing(missing), thread=True, group="boxes", exit_on_error=False)
            out: dict[str, list[CropMeta]] = {}
            for row in queue.rows.values():
                if row.meta is not None:
                    out.setdefault(row.meta.image_id, []).append(row.meta)
            if missing:
                return out  # partial: not remembered
            self._boxes = out
        return self._boxes

    def _read_missing(self, missing: list[str]) -> None:
        rows = self.garb.queue.read_metas(missing)
        self.app.call_from_thread(self._metas_read, rows)

    def _metas_read(self, rows: list[CropRow]) -> None:
        self.garb.queue.update(rows)
        self._reading = False
        self._boxes = None
        if not self.is_mounted:
            return
        self.fill_photos(keep=self.current_id if self.kind == "image" else None)
        self.show_current()

    def fill_photos(self, keep: str | None = None) -> None:
        table = self._table("#photos-table")
        table.clear()
        counts = self.boxes()
        for image_id in self.garb.ws.image_ids():
            try:
                meta = self.garb.ws.load_image_meta(image_id)
                table.add_row(image_id, meta.scene, f"{meta.width}×{meta.height}", _horizon(meta),
                              str(len(counts.get(image_id, []))), key=image_id)
            except GarbError as exc:
                table.add_row(image_id, "?", "", Text(f"broken: {exc.message}", style="bold"), "", key=image_id)
        _restore(table, keep)

    def fill_backgrounds(self, keep: str | None = None) -> None:
        table = self._table("#backgrounds-table")
        table.clear()
        for bg_id in self.garb.ws.background_ids():
            try:
                meta = self.garb.ws.load_background_meta(bg_id)
                table.add_row(bg_id, meta.scene, f"{meta.width}×{meta.height}", _horizon(meta), key=bg_id)
            except GarbError as exc:
                table.add_row(bg_id, "?", "", Text(f"broken: {exc.message}", style="bold"), key=bg_id)
        _restore(table, keep)

    def refill_current(self) -> None:
        keep = self.current_id
        if self.kind == "background":
            self.fill_backgrounds(keep)
        else:
            self.fill_photos(keep)
        self.show_current()

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table is self.table:
            self._leave_surfaces_if_moved()
            self.show_current()

    def _leave_surfaces_if_moved(self) -> None:
        edit = self.surfaces
        if edit is not None and (self.kind != "background" or self.current_id != edit.bg_id):
            if edit.dirty:
                self.notify(f"Surfaces of {edit.bg_id} not saved (s saves them).", severity="warning", timeout=4)
            self.surfaces = None

    @on(TabbedContent.TabActivated)
    def _tab(self, event: TabbedContent.TabActivated) -> None:
        self.table.focus()
        self._leave_surfaces_if_moved()
        self.show_current()

    # -- preview ----------------------------------------------------------------------------
    def load_meta(self, item_id: str, *, quiet: bool = False) -> ImageMeta | BackgroundMeta | None:
        """The current tab's meta of `item_id`; None (with a notification) when its meta.json is broken."""
        ws = self.garb.ws
        try:
            return ws.load_background_meta(item_id) if self.kind == "background" else ws.load_image_meta(item_id)
        except GarbError as exc:
            if not quiet:
                self.notify(f"{item_id}: {exc}", severity="error", markup=False)
            return None

    def current_meta(self) -> tuple[str, ImageMeta | BackgroundMeta] | None:
        """The highlighted item and its meta; None when there is none or its meta.json is broken (notified)."""
        item_id = self.current_id
        meta = None if item_id is None else self.load_meta(item_id)
        return None if item_id is None or meta is None else (item_id, meta)

    def show_current(self) -> None:
        view = self.query_one("#photo-view", ImageView)
        title = self.query_one("#photo-title", Static)
        info = self.query_one("#photo-info", Static)
        item_id = self.current_id
        if item_id is None:
            title.update("")
            info.update("no backgrounds yet: press a to add one" if self.kind == "background" else "no photos")
            view.clear(" ")
            return
        ws = self.garb.ws
        try:
            meta = ws.load_background_meta(item_id) if self.kind == "background" else ws.load_image_meta(item_id)
        except GarbError as exc:
            title.update(item_id)
            info.update(Text(exc.message))
            view.clear("cannot read this item")
            return
        ws = self.garb.ws
        folder = ws.background_dir(item_id) if self.kind == "background" else ws.image_dir(item_id)
        path = folder / meta.file
        boxes = [] if self.kind == "background" else self.boxes().get(item_id, [])
        labels = sorted({b.label for b in boxes})
        colours = {label: pixels.PALETTE[i % len(pixels.PALETTE)] for i, label in enumerate(labels)}
        polys = [(region_outline(b), colours[b.label]) for b in boxes]
        horizon = meta.horizon_row
        title.update(Text(item_id, style="bold"))
        text = Text(f"{meta.scene} · {meta.width}×{meta.height}px · horizon {_horizon(meta)}")
        if isinstance(meta, BackgroundMeta):
            text.append(f" · camera {meta.camera_height_m:g} m")
        for label in labels:
            r, g, b = colours[label]
            text.append("\n■ ", style=f"rgb({r},{g},{b})")
            text.append(f"{label} ×{sum(1 for x in boxes if x.label == label)}")
        edit = self.surfaces if self.surfaces is not None and self.surfaces.bg_id == item_id else None
        if isinstance(meta, BackgroundMeta):
            from garbtui.core.scene.backgrounds import horizon_advice

            advice = horizon_advice(meta)
            if advice:
                text.append(f"\n⚠ {advice} (h)", style="bold")
            if edit is not None:
                text.append(f"\nsurfaces (from {edit.source}): ", style="bold")
                text.append(f"ground = regions {' '.join(str(r + 1) for r in sorted(edit.choice.ground)) or 'none'} "
                            f"({100 * edit.ground_share():.0f}% of the photo)" + (" · unsaved" if edit.dirty else ""))
                text.append("\n1-9 toggle a region · s save seg.json · g close")
            else:
                text.append("\ng: surfaces (where litter may lie)", style="dim")
        info.update(text)
        cache = self.garb.image_cache
        state = None if edit is None else tuple(sorted(edit.choice.ground))

        def overlay(rgb: np.ndarray, scale: tuple[float, float]) -> np.ndarray:
            if edit is not None:
                from garbtui.tui.data.surfaces_view import draw

                rgb = draw(rgb, edit)
            out = pixels.draw_polygons(rgb, polys, scale) if polys else rgb
            return pixels.draw_horizon(out, horizon, scale[1]) if horizon is not None else out

        def make(spec: RenderSpec) -> Frame:
            key, image = cache.load(path)
            return make_frame(image, spec, (key, horizon, len(polys), state), overlay=overlay)

        view.show(("photo", str(path), _mtime(path), horizon, len(polys), state), make)

    # -- actions ----------------------------------------------------------------------------
    def action_switch_list(self) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = "tab-photos" if tabs.active == "tab-backgrounds" else "tab-backgrounds"

    def _save(self, meta: ImageMeta | BackgroundMeta) -> None:
        ws = self.garb.ws
        try:
            if isinstance(meta, BackgroundMeta):
                ws.save_background_meta(meta)
            else:
                ws.save_image_meta(meta)
        except (GarbError, OSError) as exc:
            self.notify(f"not saved: {exc}", severity="error")
            return
        self.refill_current()

    def action_cycle_scene(self) -> None:
        current = self.current_meta()
        if current is None:
            return
        item_id, meta = current
        scenes = SCENES if self.kind == "image" else BACKGROUND_SCENES
        nxt = scenes[(scenes.index(meta.scene) + 1) % len(scenes)] if meta.scene in scenes else scenes[0]
        meta.scene = nxt
        self._save(meta)
        self.notify(f"{item_id}: scene kind {nxt}", timeout=2)

    def set_horizon(self, item_id: str, row: float | None, estimated: bool = False) -> None:
        meta = self.load_meta(item_id)
        if meta is None:
            return
        if row is not None and not 0 <= row < meta.height:
            self.notify(f"horizon row must be within 0..{meta.height - 1}", severity="error")
            return
        if isinstance(meta, BackgroundMeta) and row is not None and not estimated:
            from garbtui.core.scene.backgrounds import set_horizon

            set_horizon(self.garb.ws, item_id, row)
            self.refill_current()
            return
        meta.horizon_row = None if row is None else round(float(row), 1)
        meta.horizon_estimated = estimated
        if isinstance(meta, BackgroundMeta) and not estimated:
            meta.horizon_confidence = None
        self._save(meta)

    def action_set_horizon(self) -> None:
        from garbtui.tui.dialogs.number import NumberDialog

        current = self.current_meta()
        if current is None:
            return
        item_id, meta = current

        def done(value: object) -> None:
            if value is None or isinstance(value, float | int):  # else NumberDialog.CANCELLED
                self.set_horizon(item_id, value)

        hint = f"row in pixels from the top, 0 … {meta.height - 1}; empty = no horizon"
        self.app.push_screen(
            NumberDialog(f"Horizon row of {item_id}", meta.horizon_row, low=0, high=meta.height - 1, hint=hint), done
        )

    def action_nudge(self, direction: int) -> None:
        current = self.current_meta()
        if current is None:
            return
        item_id, meta = current
        start = meta.horizon_row if meta.horizon_row is not None else meta.height / 2
        row = min(meta.height - 1, max(0, start + direction * max(1, round(NUDGE * meta.height))))
        self.set_horizon(item_id, row)

    def action_estimate(self) -> None:
        from garbtui.core.scene.horizon import estimate_horizon

        current = self.current_meta()
        if current is None:
            return
        item_id, meta = current
        ws = self.garb.ws
        folder = ws.background_dir(item_id) if self.kind == "background" else ws.image_dir(item_id)
        path = folder / meta.file
        kind = self.kind  # the user may switch tabs (b) before the estimate is back

        def work() -> None:
            from garbtui.core.workspace.imageio import read_rgb

            try:
                estimate = estimate_horizon(read_rgb(path))
            except GarbError as exc:
                self.app.call_from_thread(self.notify, exc.message, severity="error")
                return
            self.app.call_from_thread(self._estimated, item_id, estimate, kind)

        self.notify("Estimating the horizon…", timeout=2)
        self.run_worker(work, thread=True, group="horizon", exclusive=True, exit_on_error=False)

    def _estimated(self, item_id: str, estimate: HorizonEstimate, kind: str) -> None:
        row = estimate.row
        if row is None:
            self.notify("No horizon found: lane and kerb lines did not agree. Type it with h.", severity="warning")
            return
        if kind == self.kind:
            self.set_horizon(item_id, float(row), estimated=True)
        else:  # saved against the tab it was asked on, not the one now open
            def change(meta: ImageMeta | BackgroundMeta) -> None:
                meta.horizon_row = round(float(row), 1)
                meta.horizon_estimated = True

            ws = self.garb.ws
            try:
                (ws.update_background_meta if kind == "background" else ws.update_image_meta)(item_id, change)
            except GarbError as exc:
                self.notify(f"{item_id}: {exc}", severity="error", markup=False)
                return
        self.notify(f"Estimated horizon row {row:.0f} (confidence {estimate.confidence:.2f}). "
                    "h to type it, [ ] to nudge.", timeout=4)

    def action_add_background(self) -> None:
        from garbtui.tui.dialogs.add_background import AddBackgroundDialog, AddedResult

        def done(result: AddedResult | None) -> None:
            if result is not None:
                self._added(result.bg_id)

        self.app.push_screen(AddBackgroundDialog(self.garb.ws), done)

    def _added(self, bg_id: str) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = "tab-backgrounds"
        self.fill_backgrounds(keep=bg_id)
        self.show_current()
        self.notify(f"Added background {bg_id}.", timeout=3)

    # -- surfaces view ------------------------------------------------------------------------
    def action_surfaces(self) -> None:
        if self.surfaces is not None:
            if self.surfaces.dirty:
                self.notify(f"Surfaces of {self.surfaces.bg_id} not saved.", severity="warning", timeout=3)
            self.surfaces = None
            self.show_current()
            return
        if self.kind != "background":
            self.notify("Surfaces are marked on backgrounds: press b for the backgrounds list.", timeout=3)
            return
        current = self.current_meta()
        if current is None:
            return
        bg_id, meta = current
        assert isinstance(meta, BackgroundMeta)
        ws = self.garb.ws
        self._surfaces_wanted = bg_id

        def work() -> None:
            from garbtui.tui.data.surfaces_view import load_edit

            try:
                edit = load_edit(ws, meta)
            except GarbError as exc:
                self.app.call_from_thread(self.notify, f"{bg_id}: {exc}", severity="error", markup=False)
                return
            self.app.call_from_thread(self._surfaces_ready, edit)

        self.notify("Finding the photo's regions…", timeout=2)
        self.run_worker(work, thread=True, group="surfaces", exclusive=True, exit_on_error=False)

    def _surfaces_ready(self, edit: SurfaceEdit) -> None:
        if self._surfaces_wanted != edit.bg_id or self.kind != "background" or self.current_id != edit.bg_id:
            return  # the user moved on meanwhile
        self.surfaces = edit
        self.show_current()

    def action_toggle_region(self, region: int) -> None:
        edit = self.surfaces
        if edit is None:
            return
        now = edit.toggle(region)
        if now is None:
            self.notify(f"There is no region {region + 1} (1-{edit.choice.count}).", timeout=2)
            return
        self.show_current()

    def action_save_surfaces(self) -> None:
        edit = self.surfaces
        if edit is None:
            self.notify("Open the surfaces view first (g on a background).", timeout=3)
            return
        from garbtui.tui.data.surfaces_view import save_edit

        try:
            save_edit(self.garb.ws, edit)
        except (GarbError, OSError) as exc:
            self.notify(f"not saved: {exc}", severity="error", markup=False)
            return
        edit.source = "hand"
        self.notify(f"Saved seg.json + seg.png of {edit.bg_id}: ground {100 * edit.ground_share():.0f}% of the photo.",
                    timeout=3)
        self.show_current()

    def has_unsaved_work(self) -> bool:
        """True when the surfaces view holds regions toggled since the last save."""
        return self.surfaces is not None and self.surfaces.dirty

    def unsaved_work(self) -> str:
        bg_id = self.surfaces.bg_id if self.surfaces is not None else ""
        return f"The surfaces of background {bg_id} are not saved (s saves them)."

    def action_back(self) -> None:
        if self.has_unsaved_work():
            self.notify(f"{self.unsaved_work()} Closed without saving.", severity="warning", timeout=4)
        self.app.pop_screen()

    def on_theme_switched(self) -> None:
        self.show_current()


def _horizon(meta: ImageMeta | BackgroundMeta) -> str:
    if meta.horizon_row is None:
        if isinstance(meta, BackgroundMeta) and meta.horizon_suggested is not None:
            return f"? {meta.horizon_suggested:g} (not trusted)"
        return "-"
    return f"{meta.horizon_row:g}" + (" (est.)" if meta.horizon_estimated else "")


def _restore(table: Table, keep: str | None) -> None:
    if keep is None or table.row_count == 0:
        return
    with contextlib.suppress(RowDoesNotExist):  # the item is gone
        table.move_cursor(row=table.get_row_index(keep), animate=False)


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0
