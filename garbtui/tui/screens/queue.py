"""The home screen: crops awaiting proc.png first, filters, and a preview of the raw crop and its cutout."""

from __future__ import annotations

import gc
import time

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header, Static
from textual.worker import get_current_worker

from garbtui.core.workspace.store import FileStamp
from garbtui.tui.data.ids import middle_ellipsis
from garbtui.tui.data.queue import STATUS_FILTERS, CropRow, QueueFilter
from garbtui.tui.messages import MetasLoaded
from garbtui.tui.screens.base import GarbScreen
from garbtui.tui.widgets.crop_list import CropList, header_text
from garbtui.tui.widgets.image_view import ImageView, file_frame_maker
from garbtui.tui.widgets.styles import theme_colour

FIRST_BATCH = 120  # metas read before the first paint: enough to fill a tall terminal
BATCH = 1000
NARROW = 100  # columns below which the preview pane takes its minimum width
CANCEL_STEP = 20  # metas read between two looks at whether the reader was cancelled (a few ms)
PREFETCH_DELAY = 0.08  # seconds after a preview is shown before its neighbours are prepared


class QueueScreen(GarbScreen):
    """Pick a crop to clean; `enter` opens it."""

    prefetch_offsets: tuple[int, ...] = (1, -1, 2, 3)  # neighbours prepared while the user looks
    BINDINGS = [
        Binding("enter", "open_crop", "Clean crop", tooltip="open the highlighted crop in the cleanup screen"),
        Binding("f", "cycle_status", "Filter", tooltip="show pending, done or all crops"),
        Binding("l", "pick_label", "Label", show=False, tooltip="show only crops with one label"),
        Binding("g", "pick_scene", "Scene", show=False, tooltip="show only crops of one scene kind (road / front)"),
        Binding("x", "clear_filters", "Clear filters", show=False, tooltip="back to every pending crop"),
        Binding("i", "app.images", "Images", tooltip="photos with their objects outlined, backgrounds, horizons"),
        Binding("p", "placement", "Placement", tooltip="place fragments on a background"),
        Binding("R", "rescan", "Rescan", key_display="R", show=False, tooltip="read the workspace folder again"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter = QueueFilter()
        self.metas_done = False
        self.first_paint_at: float | None = None
        self._prefetch_token: object = None

    def compose(self) -> ComposeResult:
        yield Header(icon="▚")
        with Horizontal():
            with Vertical(id="queue-pane"):
                yield Static(id="filter-bar")
                header = Static(header_text(), id="list-header")
                yield header
                yield CropList(id="crop-list", header=header)
            with Vertical(id="preview-pane"):
                yield Static("", id="crop-title", classes="pane-title")
                yield ImageView("no crop selected", id="raw-view")
                yield ImageView("no cutout yet: press enter, then c", id="cutout-view")
                yield Static("", id="crop-info")
        yield Footer()

    # -- loading ----------------------------------------------------------------------------
    def on_mount(self) -> None:
        queue = self.garb.queue
        ordered = queue.ordered()
        # Read the metas of the first screenful now (a few ms), the rest in a thread worker.
        queue.update(queue.read_metas([r.id for r in ordered[:FIRST_BATCH] if not r.loaded]))
        rest = [r.id for r in ordered[FIRST_BATCH:] if not r.loaded]
        self.metas_done = not rest
        self.refill()
        self.query_one(CropList).focus()
        self.call_after_refresh(self._painted, rest)

    def _painted(self, rest: list[str]) -> None:
        self.first_paint_at = time.perf_counter()
        # Everything made so far (Textual's DOM, styles, the crop rows) lives as long as the app: keep it
        # out of the full garbage collections, which would otherwise walk it again and again.
        gc.freeze()
        # The other metas are read only now: a thread started earlier would slow the first paint down.
        if rest:
            self.run_worker(lambda: self._load_metas(rest), thread=True, group="metas", exclusive=True)

    def _load_metas(self, ids: list[str]) -> None:
        """Read the metas in a thread worker, a slice at a time, and stop as soon as the worker is
        cancelled: quitting (which cancels it, then waits for the thread) never waits for the rest."""
        worker = get_current_worker()
        queue = self.garb.queue
        for start in range(0, len(ids), BATCH):
            rows: list[CropRow] = []
            for step in range(start, min(start + BATCH, len(ids)), CANCEL_STEP):
                if worker.is_cancelled:
                    return
                rows += queue.read_metas(ids[step : min(step + CANCEL_STEP, start + BATCH)])
            self.post_message(MetasLoaded(rows, final=start + BATCH >= len(ids)))

    def on_metas_loaded(self, message: MetasLoaded) -> None:
        self.garb.queue.update(message.rows)
        if message.final:
            self.metas_done = True
            self.refill()
        elif self.filter.label or self.filter.scene:
            self.refill()

    def refill(self, keep: str | None = None) -> None:
        rows = self.garb.queue.ordered(self.filter)
        self.query_one(CropList).fill(rows, keep)
        self._update_filter_bar(len(rows))

    def _update_filter_bar(self, shown: int) -> None:
        counts = self.garb.queue.counts()
        loading = "" if self.metas_done else "  · reading metas…"
        text = Text.assemble(
            ("showing ", ""), (self.filter.describe(), "bold"), (f"  {shown} crops", ""),
            (f"   pending {counts['pending']} · done {counts['done']} · broken {counts['broken']}", ""),
            (loading, "italic"),
        )
        self.query_one("#filter-bar", Static).update(text, layout=False)

    def on_resize(self, event: events.Resize) -> None:
        # A narrow terminal (80 columns) gives the list the room for its crop ids; the preview keeps 28.
        narrow = event.size.width < NARROW
        if narrow != self.has_class("-narrow"):  # only a change: a new class lays the screen out again
            self.set_class(narrow, "-narrow")
            self.call_after_refresh(lambda: self._show_row(self.query_one(CropList).current_id))

    # -- preview ----------------------------------------------------------------------------
    @on(CropList.Highlighted)
    def _row_highlighted(self, event: CropList.Highlighted) -> None:
        self._show_row(event.crop_id)

    def _show_row(self, crop_id: str | None) -> None:
        raw_view = self.query_one("#raw-view", ImageView)
        cutout_view = self.query_one("#cutout-view", ImageView)
        title = self.query_one("#crop-title", Static)
        info = self.query_one("#crop-info", Static)
        if crop_id is None:
            title.update("", layout=False)
            info.update("", layout=False)
            raw_view.clear("no crops match this filter  (f: status, l: label, g: scene, x: clear)")
            cutout_view.clear(" ")
            return
        queue = self.garb.queue
        row = queue.rows.get(crop_id)
        if row is None or not row.loaded:
            row = queue.read_meta(crop_id)
            queue.update([row])
        ws = self.garb.ws
        cache = self.garb.image_cache
        room = title.content_region.width
        title.update(Text(middle_ellipsis(row.id, room) if room > 8 else row.id, style="bold"), layout=False)
        info.update(self._info_text(row), layout=False)
        raw = ws.raw_path(crop_id)
        if raw.is_file():
            raw_view.show(("raw", crop_id, FileStamp.of(raw)), file_frame_maker(raw, cache=cache))
        else:
            raw_view.clear(f"raw.png is missing\n{raw}")
        proc = ws.proc_path(crop_id)
        if proc.is_file():
            cutout_view.show(("proc", crop_id, FileStamp.of(proc)), file_frame_maker(proc, cache=cache))
        elif row.status == "broken":
            cutout_view.clear(" ")
        else:
            cutout_view.clear("no cutout yet: press enter, then c")

    @on(ImageView.Shown, "#raw-view")
    def _shown(self, event: ImageView.Shown) -> None:
        # Start guessing only once the screen is painted and the user pauses: prefetching at once
        # would compete with this very repaint for the interpreter.
        self._prefetch_token = token = object()
        self.set_timer(PREFETCH_DELAY, lambda: self._prefetch_neighbours(token))

    def _prefetch_neighbours(self, token: object) -> None:
        """Prepare the crops around the cursor, so moving on is instant."""
        if token is not self._prefetch_token or not self.is_current:
            return
        crop_list = self.query_one(CropList)
        here = crop_list.cursor
        ws, cache = self.garb.ws, self.garb.image_cache
        raw_view = self.query_one("#raw-view", ImageView)
        cutout_view = self.query_one("#cutout-view", ImageView)

        def wanted() -> bool:
            return self._prefetch_token is token

        for offset in self.prefetch_offsets:
            index = here + offset
            if not 0 <= index < len(crop_list.rows):
                continue
            row = crop_list.rows[index]
            if row.status == "broken":
                continue
            raw = ws.raw_path(row.id)
            raw_view.prefetch(("raw", row.id, FileStamp.of(raw)), file_frame_maker(raw, cache=cache), wanted)
            if row.status == "done":
                proc = ws.proc_path(row.id)
                cutout_view.prefetch(("proc", row.id, FileStamp.of(proc)), file_frame_maker(proc, cache=cache), wanted)

    def _info_text(self, row: CropRow) -> Text:
        text = Text()
        if row.status == "broken":
            text.append(f"broken: {row.reason or 'unreadable'}\n", style=theme_colour(self.app, "error"))
        meta = row.meta
        if meta is None:
            return text
        text.append(f"{meta.label}", style="bold")
        text.append(f" · {meta.scene} · surface {meta.surface} · {meta.crop_width}×{meta.crop_height}px\n")
        text.append(f"from {meta.image_id} at ({meta.origin_x}, {meta.origin_y}) · {meta.region.kind}")
        if meta.k is not None:
            text.append(f" · k {meta.k:.3f}")
        if meta.cleanup is not None:
            c = meta.cleanup
            keep = ",".join(str(i + 1) for i in (c.keep or [])) or "auto"
            text.append(f"\ncutout: k={c.k} {c.color_space} keep {keep} refine {'on' if c.refine else 'off'} "
                        f"feather {c.feather}")
        return text

    # -- actions ----------------------------------------------------------------------------
    def action_placement(self) -> None:
        self.garb.action_placement()

    def action_open_crop(self) -> None:
        crop_id = self.query_one(CropList).current_id
        if crop_id is None:
            return
        row = self.garb.queue.rows.get(crop_id)
        if row is not None and row.status == "broken":
            self.notify(f"{crop_id} is broken: {row.reason}", severity="error")
            return
        self.garb.open_cleanup(crop_id)

    @on(CropList.Selected)
    def _row_selected(self, event: CropList.Selected) -> None:
        self.action_open_crop()

    def action_cycle_status(self) -> None:
        i = STATUS_FILTERS.index(self.filter.status)
        self.set_filter(QueueFilter(STATUS_FILTERS[(i + 1) % len(STATUS_FILTERS)], self.filter.label, self.filter.scene))

    def set_filter(self, flt: QueueFilter) -> None:
        self.filter = flt
        self.refill()

    def action_clear_filters(self) -> None:
        self.set_filter(QueueFilter())

    def action_pick_label(self) -> None:
        from garbtui.tui.dialogs.choice import ChoiceDialog

        self._ensure_metas()
        options = [(None, "all labels")] + [(label, f"{label}  ({n})") for label, n in self.garb.queue.labels()]

        def chosen(value: object) -> None:
            if value is None or isinstance(value, str):  # else ChoiceDialog.CANCELLED
                self.set_filter(QueueFilter(self.filter.status, value, self.filter.scene))

        self.app.push_screen(ChoiceDialog("Show crops with label", options, self.filter.label), chosen)

    def action_pick_scene(self) -> None:
        from garbtui.tui.dialogs.choice import ChoiceDialog

        self._ensure_metas()
        options = [(None, "all scene kinds")] + [(s, f"{s}  ({n})") for s, n in self.garb.queue.scenes()]

        def chosen(value: object) -> None:
            if value is None or isinstance(value, str):  # else ChoiceDialog.CANCELLED
                self.set_filter(QueueFilter(self.filter.status, self.filter.label, value))

        self.app.push_screen(ChoiceDialog("Show crops of scene kind", options, self.filter.scene), chosen)

    def _ensure_metas(self) -> None:
        if not self.metas_done:
            self.notify("Still reading crop metas; the lists fill in as they arrive.", timeout=3)

    def action_rescan(self) -> None:
        from garbtui.tui.data.queue import CropQueue

        self.garb.queue = CropQueue.scan(self.garb.ws)
        self.metas_done = False
        ids = [r.id for r in self.garb.queue.ordered()]
        self.refill()
        self.run_worker(lambda: self._load_metas(ids), thread=True, group="metas", exclusive=True)

    # -- coming back from the cleanup screen --------------------------------------------------
    def on_screen_resume(self) -> None:
        if self.first_paint_at is None:
            return  # the first resume is the start-up itself
        self.refill()

    def on_theme_switched(self) -> None:
        self.refill()

    def on_crops_changed(self) -> None:
        """Crops were added, removed or saved by another process: show the list as it is now."""
        if self.is_current:
            self.refill()
        # Otherwise the list is refilled when this screen is shown again (on_screen_resume).


