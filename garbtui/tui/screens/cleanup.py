"""Cleanup of one crop: raw | clusters (coloured, numbered) | cutout, driven by single keys.

Every change re-runs the (cached) cleanup session in a thread worker. Each request gets a generation
number; a result whose generation is not the newest is dropped, so a slow stale run never overwrites a
newer one, and stale runs that have not started yet are skipped.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

import cv2
import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.timer import Timer
from textual.widgets import Footer, Header, Static

from garbtui.core.cleanup.keys import press
from garbtui.core.errors import GarbError
from garbtui.core.workspace.models import CleanupRecipe, CropMeta
from garbtui.core.workspace.store import FileStamp
from garbtui.tui.data import pixels
from garbtui.tui.messages import CleanupFrames, CleanupRendered, CropSaved
from garbtui.tui.screens.base import GarbScreen
from garbtui.tui.widgets.image_view import ImageView, RenderSpec, file_frame_maker, make_frame
from garbtui.tui.widgets.legend import ClusterLegend

FEATHERS: tuple[int, ...] = (0, 1, 2, 4, 8)
K_MIN, K_MAX = 2, 9
SESSIONS_KEPT = 4


if TYPE_CHECKING:
    from garbtui.core.cleanup import CleanupResult, CleanupSession


class CleanupScreen(GarbScreen):
    """One crop at a time; `n` / `N` move to the next / previous pending crop without leaving."""

    BINDINGS = [
        Binding("c", "auto", "Auto clean", tooltip="run the automatic k-means cleanup"),
        Binding("1", "toggle(0)", "Toggle cluster", key_display="1-9",
                tooltip="keep or drop cluster 1 (2-9 for the others); one partly kept: wholly out, wholly in, back"),
        *[Binding(str(i + 1), f"toggle({i})", f"Toggle cluster {i + 1}", show=False, id=f"toggle-{i + 1}")
          for i in range(1, 9)],
        Binding("plus,equals_sign", "k(1)", "More clusters", key_display="+", tooltip="k + 1 (up to 9)"),
        Binding("minus", "k(-1)", "Fewer clusters", key_display="-", show=False, tooltip="k - 1 (down to 2)"),
        Binding("r", "refine", "Refine edges", tooltip="edge refinement (GrabCut) on or off"),
        Binding("f", "feather", "Feather", tooltip="cycle the edge feather: 0, 1, 2, 4, 8 px"),
        Binding("s", "save", "Save proc.png", tooltip="write the cutout and its recipe (the old proc.png is kept)"),
        Binding("u", "undo", "Undo", tooltip="back to the previous recipe"),
        Binding("n", "next(1)", "Next pending", tooltip="the next crop without proc.png"),
        Binding("N", "next(-1)", "Previous pending", key_display="N", show=False, tooltip="the previous crop without proc.png"),
        Binding("escape", "back", "Back", tooltip="back to the crop queue"),
    ]

    def __init__(self, crop_id: str) -> None:
        super().__init__()
        self.crop_id = crop_id
        self.recipe: CleanupRecipe = CleanupRecipe()
        self.history: list[CleanupRecipe] = []
        self.result: CleanupResult | None = None  # the result shown now
        self._title_meta: CropMeta | None = None  # the shown crop's meta, for its title line
        self.generation = 0
        self.shown_generation = 0
        self.busy = False
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, CleanupSession] = OrderedDict()
        self._resize_timer: Timer | None = None
        self._proc_stamp: FileStamp | None = None
        self._number_cache: dict[tuple[str, int, int, tuple[int, ...]], list[tuple[int, int, int]]] = {}
        self.saved_generation = 0  # the generation whose result was saved last
        self._saved_shown = -1  # the generation run on loading a done crop: its proc.png is left on screen

    def compose(self) -> ComposeResult:
        yield Header(icon="▚")
        yield Static("", id="cleanup-title")
        with Horizontal(id="panels"):
            with Vertical(classes="panel", id="raw-panel"):
                yield ImageView("raw", id="cl-raw")
            with Vertical(classes="panel", id="clusters-panel"):
                yield ImageView("press c to cluster", id="cl-clusters")
            with Vertical(classes="panel", id="cutout-panel"):
                yield ImageView("press c to make the cutout", id="cl-cutout")
        yield ClusterLegend("", id="legend")
        yield Static("", id="recipe-bar")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#raw-panel").border_title = "raw"
        self.query_one("#clusters-panel").border_title = "clusters"
        self.query_one("#cutout-panel").border_title = "cutout"
        self.load_crop(self.crop_id)

    # -- crop loading -----------------------------------------------------------------------
    def load_crop(self, crop_id: str) -> None:
        """Show a crop: its raw picture now, and its saved cutout if it has one."""
        self.crop_id = crop_id
        self.generation += 1
        self.result = None
        self.history = []
        ws = self.garb.ws
        row = self.garb.queue.read_meta(crop_id)
        self.garb.queue.update([row])
        meta = row.meta
        self.recipe = meta.cleanup.model_copy() if meta is not None and meta.cleanup is not None else CleanupRecipe()
        self._title_meta = meta
        self._update_title(row.status)
        cache = self.garb.image_cache
        raw = ws.raw_path(crop_id)
        self.query_one("#cl-raw", ImageView).show(("raw", crop_id, FileStamp.of(raw)), file_frame_maker(raw, cache=cache))
        clusters = self.query_one("#cl-clusters", ImageView)
        cutout = self.query_one("#cl-cutout", ImageView)
        clusters.clear("clustering…")
        proc = ws.proc_path(crop_id)
        self._proc_stamp = ws.proc_stamp(crop_id)  # which proc.png we saw, to notice someone else's save
        if proc.is_file():
            cutout.show(("proc", crop_id, FileStamp.of(proc)), file_frame_maker(proc, cache=cache))
        else:
            cutout.clear("making the automatic cutout…")
        self.query_one(ClusterLegend).update(Text("keys: c clean · 1-9 toggle cluster · +/- k · r refine · f feather "
                                                  "· s save · u undo · n/N next/prev", style="italic"))
        # The cutout at once: the saved recipe (or the automatic one) runs in the worker; a saved proc.png
        # stays on screen, the run only fills the clusters and the legend.
        self.rerun(self.recipe, remember=False)
        self.saved_generation = self.generation
        self._saved_shown = self.generation if proc.is_file() else -1
        self._update_recipe_bar("saved cutout shown" if proc.is_file() else "automatic cutout")

    def _session(self, crop_id: str) -> CleanupSession:
        from garbtui.core.cleanup import CleanupSession

        session = self._sessions.get(crop_id)
        if session is None:
            session = CleanupSession.from_workspace(self.garb.ws, crop_id)
            self._sessions[crop_id] = session
            while len(self._sessions) > SESSIONS_KEPT:
                self._sessions.popitem(last=False)
        self._sessions.move_to_end(crop_id)
        return session

    # -- running ----------------------------------------------------------------------------
    def rerun(self, recipe: CleanupRecipe, *, remember: bool = True) -> None:
        """Make `recipe` the current one and render it in a thread (latest wins)."""
        if remember:
            self.history.append(self.recipe)
        self.recipe = recipe
        self.generation += 1
        generation = self.generation
        crop_id = self.crop_id
        specs = (self.query_one("#cl-clusters", ImageView).spec, self.query_one("#cl-cutout", ImageView).spec)
        self.busy = True
        self._update_recipe_bar("working…")
        self.run_worker(
            lambda: self._run_cleanup(crop_id, recipe, generation, *specs),
            thread=True, group="cleanup", exit_on_error=False,
        )

    def _run_cleanup(self, crop_id: str, recipe: CleanupRecipe, generation: int, cspec: RenderSpec, ospec: RenderSpec) -> None:
        with self._lock:
            if generation != self.generation:
                return  # superseded before it started: skip the work entirely
            try:
                result = self._session(crop_id).run(recipe)
                labels = result.labels

                def numbers(rgb: np.ndarray, scale: tuple[float, float]) -> np.ndarray:
                    # Toggling clusters keeps the clustering (the session caches it), so the places
                    # of the numbers are found once per clustering and picture size.
                    key = (crop_id, id(labels), result.k, rgb.shape[:2])
                    positions = self._number_cache.get(key)
                    if positions is None:
                        small = cv2.resize(labels.astype(np.uint8), (rgb.shape[1], rgb.shape[0]),
                                           interpolation=cv2.INTER_NEAREST)
                        positions = pixels.number_positions(small, result.k)
                        if len(self._number_cache) > 32:
                            self._number_cache.clear()
                        self._number_cache[key] = positions
                    return pixels.draw_numbers_at(rgb, positions)

                frames = CleanupFrames(
                    make_frame(result.cluster_preview, cspec, ("clusters", crop_id, generation), overlay=numbers,
                               nearest=True),
                    make_frame(result.rgba, ospec, ("cutout", crop_id, generation)),
                )
            except (GarbError, ValueError) as exc:
                self.post_message(CleanupRendered(crop_id, generation, None, None, getattr(exc, "message", str(exc))))
                return
        self.post_message(CleanupRendered(crop_id, generation, result, frames))

    def on_cleanup_rendered(self, message: CleanupRendered) -> None:
        if message.generation != self.generation or message.crop_id != self.crop_id:
            return
        self.busy = False
        if message.result is None or message.frames is None:
            self._update_recipe_bar(f"error: {message.error}")
            self.notify(message.error, severity="error")
            return
        from garbtui.core.cleanup import cluster_palette

        self.result = message.result
        self.shown_generation = message.generation
        self.query_one("#cl-clusters", ImageView).show_frame(message.frames.clusters)
        if message.generation != self._saved_shown:  # on loading a done crop, its proc.png stays shown
            self.query_one("#cl-cutout", ImageView).show_frame(message.frames.cutout)
        palette = cluster_palette(message.result.k)
        self.query_one(ClusterLegend).show_stats(message.result.cluster_stats, palette, message.result.precise)
        self._update_recipe_bar("")

    def _update_recipe_bar(self, state: str) -> None:
        r = self.result.recipe if self.result is not None and self.shown_generation == self.generation else self.recipe
        keep = "auto" if r.keep is None else (",".join(str(i + 1) for i in r.keep) or "none")
        shown = self.result if self.result is not None and self.shown_generation == self.generation else None
        mode = "manual" if not r.auto else "auto" if r.keep is None or (shown and shown.automatic) else "auto + keys"
        text = Text.assemble(
            ("k ", "dim"), (str(r.k), "bold"), (" · ", "dim"), (r.color_space, "bold"),
            (" · keep ", "dim"), (keep, "bold"), (f" {mode}", "dim"),
            (" · refine ", "dim"), ("on" if r.refine else "off", "bold"),
            (" · feather ", "dim"), (str(r.feather), "bold"),
        )
        if self.result is not None and self.shown_generation == self.generation:
            text.append(f" · {self.result.coverage * 100:.0f}% of the crop kept", style="dim")
        if state:
            text.append(f"   {state}", style="italic")
        bar = self.query_one("#recipe-bar", Static)
        bar.set_class(self.busy, "-busy")
        bar.update(text, layout=False)

    # -- actions ----------------------------------------------------------------------------
    def action_auto(self) -> None:
        self.rerun(self.recipe.model_copy(update={"keep": None, "auto": True, "all_in": [], "all_out": []}))

    def action_toggle(self, index: int) -> None:  # type: ignore[override]  # Textual's toggle(attribute) is not bound here
        if self.result is None:
            self.notify("Press c first to cluster this crop.", timeout=3)
            return
        if index >= self.result.k:
            self.notify(f"There are only {self.result.k} clusters.", timeout=3)
            return
        current = self.shown_generation == self.generation
        if not current and (self.recipe.keep is None or self.recipe.k != self.result.k):
            # The clusters on screen are about to change (new k, or an automatic choice not back yet):
            # a number now would name a cluster of the old picture.
            self.notify("Wait for the preview: the clusters are being recomputed.", timeout=2)
            return
        keep = self.result.keep if current else (self.recipe.keep or [])
        shown = self.result.recipe if current else self.recipe
        # The recipe on screen with its key pressed, on top of what is being edited (k, feather, ...).
        pressed = press(shown, keep, self.result.cluster_stats[index])
        keys = ("keep", "auto", "all_in", "all_out")
        self.rerun(self.recipe.model_copy(update={name: getattr(pressed, name) for name in keys}))

    def action_k(self, step: int) -> None:
        k = min(K_MAX, max(K_MIN, self.recipe.k + step))
        if k == self.recipe.k:
            self.notify(f"k stays between {K_MIN} and {K_MAX}.", timeout=2)
            return
        self.rerun(self.recipe.model_copy(update={"k": k, "keep": None, "auto": True, "all_in": [], "all_out": []}))

    def action_refine(self) -> None:
        self.rerun(self.recipe.model_copy(update={"refine": not self.recipe.refine}))

    def action_feather(self) -> None:
        i = FEATHERS.index(self.recipe.feather) if self.recipe.feather in FEATHERS else 0
        self.rerun(self.recipe.model_copy(update={"feather": FEATHERS[(i + 1) % len(FEATHERS)]}))

    def action_undo(self) -> None:
        if not self.history:
            self.notify("Nothing to undo.", timeout=2)
            return
        self.rerun(self.history.pop(), remember=False)

    def action_save(self) -> None:
        if self.result is None or self.shown_generation != self.generation:
            self.notify("Wait for the preview to finish (or press c) before saving.", severity="warning")
            return
        result, crop_id, ws = self.result, self.crop_id, self.garb.ws

        expected = self._proc_stamp
        generation = self.shown_generation

        def save() -> None:
            try:
                from garbtui.core.cleanup import save_result

                saved = save_result(ws, crop_id, result, expected=expected, curated=True)
            except (GarbError, OSError) as exc:
                self.post_message(CropSaved(crop_id, None, getattr(exc, "message", str(exc))))
                return
            backup = str(saved.backup) if saved.backup else None
            self.post_message(CropSaved(crop_id, backup, conflict=saved.conflict, stamp=saved.stamp,
                                        generation=generation))

        self.run_worker(save, thread=True, group="save", exit_on_error=False)

    def has_unsaved_work(self) -> bool:
        """True when the cutout on screen came from a change made after the last save (or load)."""
        return self.result is not None and self.shown_generation != self.saved_generation

    def unsaved_work(self) -> str:
        return f"The cutout of {self.crop_id} is not saved (s saves it)."

    def _update_title(self, status: str) -> None:
        """The crop id, label, scene, size and status (the status changes on save: it is never stale)."""
        title = Text.assemble((self.crop_id, "bold"))
        meta = self._title_meta
        if meta is not None:
            title.append(f"   {meta.label} · {meta.scene} · {meta.crop_width}×{meta.crop_height}px · {status}")
        self.query_one("#cleanup-title", Static).update(title)

    def on_crop_saved(self, message: CropSaved) -> None:
        if message.error:
            self.notify(message.error, severity="error")
            return
        if message.crop_id == self.crop_id:
            self.saved_generation = message.generation
        self.garb.queue.refresh_status(message.crop_id)
        if message.crop_id == self.crop_id:
            self._proc_stamp = message.stamp
        backup_name = message.backup.rsplit("/", 1)[-1] if message.backup else ""
        if message.conflict:
            # Someone else (another terminal, `garbtui clean`) saved this crop since we opened it.
            self.notify(f"Saved, but proc.png of {message.crop_id} had been changed by someone else meanwhile; "
                        f"their version is kept as {backup_name}.", severity="warning", timeout=8)
        else:
            note = f" (the earlier one kept as {backup_name})" if backup_name else ""
            self.notify(f"Saved proc.png for {message.crop_id}{note}. n: next pending crop", timeout=4)
        if message.crop_id == self.crop_id:
            self._update_recipe_bar("saved")
            self._update_title("done")

    def action_next(self, step: int) -> None:
        target = self.garb.queue.next_pending(self.crop_id, step)
        if target is None or target == self.crop_id:
            self.notify("No other pending crop.", timeout=2)
            return
        self._unless_unsaved("Go to the next crop without saving?", lambda: self.load_crop(target))

    def action_back(self) -> None:
        self._unless_unsaved("Leave without saving?", self.app.pop_screen)

    def _unless_unsaved(self, question: str, then: Callable[[], object]) -> None:
        """Run `then`, asking first when the cutout on screen is not saved (s saves it)."""
        if not self.has_unsaved_work():
            then()
            return
        from garbtui.tui.dialogs.confirm import ConfirmDialog

        def answered(yes: bool | None) -> None:
            if yes:
                then()

        self.app.push_screen(
            ConfirmDialog(question, self.unsaved_work(), yes="Discard"),
            answered,
        )

    def on_theme_switched(self) -> None:
        if self.result is not None:
            self._redraw()

    def _redraw(self) -> None:
        """Render the same recipe again (new panel sizes or colours): a saved cutout stays saved."""
        saved = not self.has_unsaved_work()
        self.rerun(self.recipe, remember=False)
        if saved:
            self.saved_generation = self.generation

    def on_resize(self, event: Resize) -> None:
        # The panels changed size: redraw the cutout and clusters for the new boxes (the session's
        # caches make this a re-render, not a re-clustering).
        if self._resize_timer is not None:
            self._resize_timer.stop()
        self._resize_timer = self.set_timer(0.1, self._redraw_after_resize)

    def _redraw_after_resize(self) -> None:
        self._resize_timer = None
        if self.result is not None and self.shown_generation == self.generation:
            self._redraw()



