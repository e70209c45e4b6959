"""Placement: compose a scene from a background and cleaned fragments, typed numerically, previewed live.

Every accepted change renders the scene in a thread worker at the preview's size. Each request gets a
generation number; a worker that is superseded before it starts skips its work, and a result whose
generation is not the newest is dropped, so a slow stale render never overwrites a newer one.
"""

from __future__ import annotations

import threading
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Checkbox, Footer, Header, Input, OptionList, Select, Static
from textual.widgets.option_list import Option

from garbtui.core.errors import GarbError, InputError
from garbtui.core.workspace.models import BackgroundMeta, CropMeta, Placement, Scene
from garbtui.core.workspace.store import FileStamp
from garbtui.tui.widgets.image_view import Frame, ImageView, RenderSpec, make_frame
from garbtui.tui.widgets.placement_fields import NumberField, PlacementForm
from garbtui.tui.widgets.placement_lists import background_prompt, fragment_prompt, placement_prompt
from garbtui.tui.widgets.placement_preview import (
    objects_text,
    preview_max_size,
    preview_overlay,
    scale_problem,
    toggle_zoom,
)
from garbtui.tui.widgets.styles import theme_colour

UNSAVED_ID = "unsaved"  # the id a scene is rendered under before its first save
SCENE_PREFIX = "scene"


class PreviewRendered(Message):
    """A preview render finished; `generation` says whether it is still the newest request."""

    def __init__(self, generation: int, result: Any, frame: Frame | None, error: str = "") -> None:
        super().__init__()
        self.generation = generation
        self.result = result
        self.frame = frame
        self.error = error


class SceneRendered(Message):
    """A full-size render with labels was written (or failed)."""

    def __init__(self, scene: Scene, result: Any, error: str = "") -> None:
        super().__init__()
        self.scene = scene
        self.scene_id = scene.id
        self.result = result
        self.error = error


class SceneRecreated(Message):
    """recreate_scene finished: a scene laid out like the reference photo, and notes for the user."""

    def __init__(self, image_id: str, scene: Scene | None, notes: list[str], error: str = "") -> None:
        super().__init__()
        self.image_id = image_id
        self.scene = scene
        self.notes = notes
        self.error = error


class PlacementScreen(Screen):
    """Pick a background and fragments, type where they go, see the composite, save and render the scene."""

    DEFAULT_CSS = """
    PlacementScreen #pl-title { height: 1; padding: 0 1; background: $boost; color: $text; }
    PlacementScreen #pl-body { height: 1fr; }
    PlacementScreen #pl-lists { width: 3fr; max-width: 44; min-width: 22; border-right: vkey $panel; }
    PlacementScreen #pl-lists OptionList {
        border: none; background: $surface; padding: 0; text-wrap: nowrap; text-overflow: ellipsis;
    }
    PlacementScreen #pl-lists OptionList:focus { background: $surface; }
    PlacementScreen #pl-backgrounds { height: auto; max-height: 8; }
    PlacementScreen #pl-fragments { height: 1fr; }
    PlacementScreen #pl-placements { height: 1fr; }
    PlacementScreen #pl-edit { width: 2fr; max-width: 34; min-width: 24; border-right: vkey $panel; background: $surface; }
    PlacementScreen #pl-keys { height: auto; color: $text-muted; padding: 1 1 0 1; }
    PlacementScreen #pl-preview { width: 5fr; min-width: 24; background: $surface; }
    PlacementScreen #pl-view { height: 1fr; margin: 0 1; }
    PlacementScreen #pl-objects { height: auto; max-height: 12; padding: 0 1; background: $boost; }
    PlacementScreen #pl-objects.-error { color: $error; }
    """

    BINDINGS = [
        Binding("a", "add", "Add fragment"),
        Binding("d,delete", "delete", "Delete", key_display="d"),
        Binding("s", "save", "Save scene"),
        Binding("R", "render", "Render+labels", key_display="R"),
        Binding("o", "open", "Open scene"),
        Binding("e", "recreate", "Recreate photo"),
        Binding("n", "new", "New scene"),
        Binding("z", "zoom", "Zoom 1:1"),
        Binding("escape", "back", "Back"),
        Binding("q", "quit_app", "Quit"),  # the app's q, but it asks before losing a scene
    ]
    # Keys that belong to the fields and lists rather than the screen, for the help screen.
    HELP_EXTRA: list[tuple[str, str]] = [
        ("up down", "in a number field: nudge it (x, y by 0.5% of the photo; scale 0.05; rotation 1°)"),
        ("shift+up down", "in a number field: nudge by ten steps"),
        ("tab, shift+tab", "next / previous field or list"),
        ("space", "toggle flip, colour match, shadow"),
        ("enter", "on a fragment: put it in the selected placement; on a placement: edit it"),
        ("delete", "delete the selected placement (like d)"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.background: BackgroundMeta | None = None
        self.placements: list[Placement] = []
        self.selected: int | None = None
        self.scene_id: str | None = None
        self.stamp: FileStamp | None = None  # scene.json as loaded, so a save notices someone else's
        self.seed = 0
        self.note = ""
        self.dirty = False
        self.notes: list[str] = []
        self.generation = 0
        self.shown_generation = 0
        self.result: Any = None  # the RenderResult of the preview on screen
        self.error = ""
        self.fragments: dict[str, Any] = {}  # crop id -> Fragment, shared by every render of this screen
        self.backgrounds: dict[tuple, Any] = {}  # decoded, preview-sized background photos
        self._lock = threading.Lock()
        self._last: tuple[Scene, int, Any] | None = None  # (scene, max_size, result) of the newest render
        self._metas: dict[str, CropMeta] = {}
        self._priors: Any = None
        self._discard_warned: str | None = None  # the action a "press again to discard" warning was for
        self._resize_timer: Any = None
        self._objects_lines = -1

    # -- layout -----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header(icon="▚")
        yield Static("", id="pl-title")
        with Horizontal(id="pl-body"):
            with Vertical(id="pl-lists"):
                yield Static("Backgrounds", classes="pane-title")
                yield OptionList(id="pl-backgrounds")
                yield Static("Cleaned fragments", classes="pane-title")
                yield OptionList(id="pl-fragments")
                yield Static("Placements", classes="pane-title")
                yield OptionList(id="pl-placements")
            with Vertical(id="pl-edit"):
                yield Static("Placement", classes="pane-title")
                yield PlacementForm(id="pl-form")
                yield Static(
                    "x, y: bottom-centre contact point (background px)\nscale: number or auto (perspective)\n"
                    "↑↓ nudge · shift+↑↓ ×10 · tab next field", id="pl-keys")
            with Vertical(id="pl-preview"):
                yield ImageView("pick a background", id="pl-view")
                yield Static("", id="pl-objects")
        yield Footer()

    def on_mount(self) -> None:
        self.fill_backgrounds()
        self.fill_fragments()
        form = self.query_one(PlacementForm)
        form.auto_scale = self.auto_scale
        form.load(None)
        self.query_one("#pl-backgrounds", OptionList).focus()
        self._update_title()

    def on_screen_resume(self) -> None:
        # Back from a dialog, help or the images screen (command palette): crops may have been cleaned,
        # backgrounds added, a horizon typed meanwhile.
        self.fill_backgrounds()
        self.fill_fragments()
        if self.background is not None:
            try:
                meta = self.app.ws.load_background_meta(self.background.id)
            except GarbError:
                return
            if meta != self.background:
                self.background = meta
                self.query_one(PlacementForm).set_background(meta.width, meta.height)
                self.request_render()

    # -- lists ------------------------------------------------------------------------------
    def fill_backgrounds(self) -> None:
        bg_list = self.query_one("#pl-backgrounds", OptionList)
        ws = self.app.ws
        options: list[Option] = []
        for bg_id in ws.background_ids():
            try:
                meta = ws.load_background_meta(bg_id)
                prompt = background_prompt(meta)
                options.append(Option(prompt, id=bg_id))
            except GarbError as exc:
                options.append(Option(Text(f"{bg_id}: {exc.message}", style="dim"), id=bg_id, disabled=True))
        keep = self.background.id if self.background is not None else None
        if [o.id for o in options] == [o.id for o in bg_list.options]:
            for index, option in enumerate(options):  # same backgrounds: refresh their details in place
                bg_list.replace_option_prompt_at_index(index, option.prompt)
            return
        bg_list.set_options(options)
        if not options:
            self.query_one("#pl-view", ImageView).clear("no backgrounds: add one on the images screen (i, then a) "
                                                        "or with `garbtui background add`")
            return
        ids = [o.id for o in options]
        bg_list.highlighted = ids.index(keep) if keep in ids else 0

    def fill_fragments(self) -> None:
        """Cleaned crops (proc.png saved), labelled; their metas are read once and kept."""
        frag_list = self.query_one("#pl-fragments", OptionList)
        queue = self.app.queue
        done = [r for r in queue.ordered() if r.status == "done"]
        missing = [r.id for r in done if not r.loaded]
        if missing:
            queue.update(queue.read_metas(missing))
            done = [r for r in queue.ordered() if r.status == "done"]
        options = []
        for row in done:
            if row.meta is None:
                continue
            self._metas[row.id] = row.meta
            prompt = fragment_prompt(row.meta)
            options.append(Option(prompt, id=row.id))
        if [o.id for o in options] == [o.id for o in frag_list.options]:
            return
        current = frag_list.highlighted_option.id if frag_list.highlighted_option is not None else None
        frag_list.set_options(options)
        if not options:
            frag_list.add_option(Option(Text("no cleaned crops yet: clean some on the queue screen", style="italic"),
                                        id="-none-", disabled=True))
            return
        ids = [o.id for o in options]
        frag_list.highlighted = ids.index(current) if current in ids else 0

    def fill_placements(self) -> None:
        plist = self.query_one("#pl-placements", OptionList)
        prompts = [placement_prompt(i, p, self.label_of(p.crop_id)) for i, p in enumerate(self.placements)]
        if plist.option_count == len(prompts):
            for i, prompt in enumerate(prompts):
                plist.replace_option_prompt_at_index(i, prompt)
        else:
            plist.set_options([Option(p) for p in prompts])
        if self.selected is not None and plist.highlighted != self.selected:
            plist.highlighted = self.selected

    def label_of(self, crop_id: str) -> str:
        meta = self.crop_meta(crop_id)
        return meta.label if meta is not None else "?"

    def crop_meta(self, crop_id: str) -> CropMeta | None:
        meta = self._metas.get(crop_id)
        if meta is None:
            try:
                meta = self.app.ws.load_crop_meta(crop_id)
            except GarbError:
                return None
            self._metas[crop_id] = meta
        return meta

    @on(OptionList.OptionHighlighted, "#pl-backgrounds")
    def _background_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is not None and not event.option.disabled:
            self.set_background(event.option.id)

    @on(OptionList.OptionSelected, "#pl-fragments")
    def _fragment_selected(self, event: OptionList.OptionSelected) -> None:
        """enter on a fragment: swap it into the selected placement, or add it when there is none."""
        if event.option.id in (None, "-none-"):
            return
        if self.selected is None:
            self.action_add()
            return
        index = self.selected
        placement = self.placements[index].model_copy(update={"crop_id": event.option.id})
        if self.commit(index, placement):
            self.query_one(PlacementForm).load(placement, self.label_of(placement.crop_id))

    @on(OptionList.OptionHighlighted, "#pl-placements")
    def _placement_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.select(event.option_index)

    @on(OptionList.OptionSelected, "#pl-placements")
    def _placement_selected(self, event: OptionList.OptionSelected) -> None:
        self.select(event.option_index)
        self.query_one("#pf-x", NumberField).focus()

    # -- editing ----------------------------------------------------------------------------
    def set_background(self, bg_id: str) -> None:
        if self.background is not None and self.background.id == bg_id:
            return
        try:
            meta = self.app.ws.load_background_meta(bg_id)
        except GarbError as exc:
            self.notify(exc.message, severity="error")
            return
        changed = self.background is not None
        self.background = meta
        self.query_one(PlacementForm).set_background(meta.width, meta.height)
        if changed and self.placements:
            self.dirty = True
        self._update_title()
        self.request_render()

    def select(self, index: int | None) -> None:
        if index is not None and not 0 <= index < len(self.placements):
            index = None
        if index == self.selected and index is not None:
            return
        self.selected = index
        form = self.query_one(PlacementForm)
        if index is None:
            form.load(None)
        else:
            p = self.placements[index]
            form.load(p, self.label_of(p.crop_id))
        self.fill_placements()
        self.request_render()

    def default_position(self) -> tuple[float, float]:
        """Where a new fragment goes: spread across the width, in the middle of the ground band (road)."""
        bg = self.background
        assert bg is not None
        xs = (0.5, 0.3, 0.7, 0.4, 0.6)
        x = bg.width * xs[len(self.placements) % len(xs)]
        area = bg.placement
        low = area.y_min if area.y_min is not None else (bg.horizon_row or 0.0)
        high = area.y_max if area.y_max is not None else float(bg.height)
        y = low + 0.6 * (high - low) if bg.scene == "road" else bg.height * 0.8
        return round(x), round(y)

    def check(self, index: int, placement: Placement) -> tuple[str, str] | None:
        """(field, message) when this placement cannot be rendered here: `auto` with y above the horizon, or a
        typed scale far too large for the photo (see placement_preview.scale_problem); else None."""
        from garbtui.core.scene.perspective import resolve_scale
        from garbtui.core.scene.size_priors import load_size_priors

        meta = self.crop_meta(placement.crop_id)
        if self.background is not None and meta is not None:
            too_big = scale_problem(placement.scale, (meta.crop_width, meta.crop_height),
                                    (self.background.width, self.background.height))
            if too_big is not None:
                return "scale", too_big
        if self.background is None or meta is None or placement.scale != "auto":
            return None
        if self._priors is None:
            self._priors = load_size_priors(self.app.ws.root)
        try:
            # Height 1 px: whether auto works depends only on where the contact point is.
            resolve_scale(placement, meta, 1.0, self.background, self._priors, index=index)
        except InputError as exc:
            return ("y" if "horizon (row" in exc.message else "scale"), exc.message
        return None

    def commit(self, index: int, placement: Placement) -> bool:
        """Make `placement` the index-th one, if it can be rendered; False (and a field error) when not."""
        form = self.query_one(PlacementForm)
        problem = self.check(index, placement)
        if problem is not None:
            if index == self.selected:
                form.set_external_error(*problem)
            else:
                self.notify(problem[1], severity="error")
            return False
        self.placements[index] = placement
        if index == self.selected:
            form.accept(placement)
        self.dirty = True
        self._discard_warned = None
        self.fill_placements()
        self._update_title()
        self.request_render()
        return True

    @on(PlacementForm.Edited)
    def _edited(self, event: PlacementForm.Edited) -> None:
        event.stop()
        if self.selected is not None:
            self.commit(self.selected, event.placement)

    # -- preview ----------------------------------------------------------------------------
    def build_scene(self, scene_id: str | None = None) -> Scene | None:
        if self.background is None:
            return None
        return Scene(id=scene_id or self.scene_id or UNSAVED_ID, background_id=self.background.id, seed=self.seed,
                     placements=list(self.placements), note=self.note)

    def request_render(self) -> None:
        """Render the scene for the preview in a thread worker; the newest request wins."""
        view = self.query_one("#pl-view", ImageView)
        scene = self.build_scene()
        self.generation += 1
        if scene is None:
            self.shown_generation = self.generation  # nothing to draw: nothing pending
            return
        if not view.is_mounted or view.content_region.width <= 0:
            self.call_after_refresh(self._render_when_sized, self.generation)
            return
        generation = self.generation
        spec = view.spec
        horizon = self.background.horizon_row if self.background is not None else None
        selected = self.selected
        self._update_title()
        # Not exclusive=True: Textual cannot stop a running thread anyway, and a cancelled worker makes
        # workers.wait_for_complete() raise. Superseded requests skip themselves (see _render_preview).
        self.run_worker(lambda: self._render_preview(scene, spec, generation, horizon, selected),
                        thread=True, group="placement-preview", exit_on_error=False)

    def _render_when_sized(self, generation: int) -> None:
        if generation == self.generation and self.query_one("#pl-view", ImageView).content_region.width > 0:
            self.request_render()

    def _render_preview(self, scene: Scene, spec: RenderSpec, generation: int, horizon: float | None,
                selected: int | None) -> None:
        from garbtui.core.compose import render_scene

        try:
            with self._lock:
                if generation != self.generation:
                    return  # a newer request came in before this one started: skip the work
                size = preview_max_size(spec)
                last = self._last
                if last is not None and last[0] == scene and last[1] == size:
                    result = last[2]  # only the selection changed: redraw the overlay on the same pixels
                else:
                    result = render_scene(self.app.ws, scene, max_size=size, fragments=self.fragments,
                                          backgrounds=self.backgrounds)
                    self._last = (scene, size, result)
                f = result.factor
                contact = None
                if selected is not None and selected < len(scene.placements):
                    p = scene.placements[selected]
                    contact = (p.x * f, p.y * f)
                overlay = preview_overlay([(o.placement_index, o.bbox, o.dropped) for o in result.objects],
                                          None if horizon is None else horizon * f, selected, contact)
                frame = make_frame(result.image, spec, ("placement", generation), overlay=overlay)
        except Exception as exc:  # a broken file or value must show as a message, never crash the app
            message = getattr(exc, "message", None) or f"{exc.__class__.__name__}: {exc}"
            self.post_message(PreviewRendered(generation, None, None, str(message)))
            return
        self.post_message(PreviewRendered(generation, result, frame))

    def on_preview_rendered(self, message: PreviewRendered) -> None:
        if message.generation != self.generation:
            return  # stale: a newer render is on its way
        self.shown_generation = message.generation
        objects = self.query_one("#pl-objects", Static)
        if message.frame is None:
            self.error = message.error
            objects.set_class(True, "-error")
            objects.update(Text(f"cannot render: {message.error}"))
            self._objects_lines = -1
            if self.selected is not None and message.error.startswith(f"placement {self.selected}:"):
                # e.g. another background put the contact point above its horizon: point at the field.
                key = "y" if "horizon (row" in message.error else "scale"
                self.query_one(PlacementForm).set_external_error(key, message.error)
            self._update_title()
            return
        self.error = ""
        self.result = message.result
        self.query_one("#pl-view", ImageView).show_frame(message.frame)
        objects.set_class(False, "-error")
        self._show_objects()
        self._update_title()

    def _show_objects(self) -> None:
        text = objects_text(self.result, self.selected, error_style=theme_colour(self.app, "error", "red"),
                            warn_style=theme_colour(self.app, "warning", "yellow"), notes=self.notes)
        objects = self.query_one("#pl-objects", Static)
        width = max(1, objects.content_region.width)
        lines = sum(max(1, -(-len(line) // width)) for line in text.plain.splitlines())  # rows after wrapping
        # A new layout only when the list's height changes: the preview beside it then keeps its pixels.
        objects.update(text, layout=lines != self._objects_lines)
        self._objects_lines = lines

    @property
    def busy(self) -> bool:
        """A preview render is pending: the picture on screen is not the newest request yet."""
        return self.shown_generation != self.generation

    def auto_scale(self) -> float | None:
        """The scale `auto` resolved to for the selected placement in the latest preview (for nudging it)."""
        if self.result is None or self.selected is None:
            return None
        for obj in self.result.objects:
            if obj.placement_index == self.selected and obj.scale is not None:
                return round(obj.scale.scale, 3)
        return None

    def _update_title(self) -> None:
        name = self.scene_id or "new scene"
        bg = self.background.id if self.background is not None else "no background"
        text = Text.assemble((name, "bold"), f"  on {bg} · {len(self.placements)} placement(s)")
        if self.dirty:
            text.append("  · unsaved", style="italic")
        if self.busy:
            text.append("  · rendering…", style="italic")
        self.query_one("#pl-title", Static).update(text, layout=False)
        self.sub_title = f"placement · {name}"

    # -- actions ----------------------------------------------------------------------------
    def action_add(self) -> None:
        if self.background is None:
            self.notify("Pick a background first.", severity="warning")
            return
        frag = self.query_one("#pl-fragments", OptionList).highlighted_option
        if frag is None or frag.id in (None, "-none-"):
            self.notify("No cleaned fragment to add: clean crops first (queue screen, enter, c, s).",
                        severity="warning")
            return
        x, y = self.default_position()
        placement = Placement(crop_id=frag.id, x=x, y=y, scale="auto")
        if self.check(len(self.placements), placement) is not None:
            placement = placement.model_copy(update={"scale": 1.0})  # a road without a horizon: start at 1:1
        self.placements.append(placement)
        self.dirty = True
        self._discard_warned = None
        self.selected = None
        self.fill_placements()
        self.select(len(self.placements) - 1)
        self.query_one("#pf-x", NumberField).focus()

    def action_delete(self) -> None:
        if self.selected is None:
            self.notify("No placement selected.", timeout=2)
            return
        del self.placements[self.selected]
        index = min(self.selected, len(self.placements) - 1) if self.placements else None
        self.selected = None
        self.dirty = True
        self.fill_placements()
        self.select(index)
        if index is None:
            self.request_render()
            self.query_one("#pl-fragments", OptionList).focus()

    def _form_problem(self) -> str | None:
        form = self.query_one(PlacementForm)
        errors = form.errors.strip()
        return errors or None

    def action_save(self) -> None:
        problem = self._form_problem()
        if problem:
            self.notify(f"Not saved: fix the fields first ({problem.splitlines()[0]}).", severity="error")
            return
        if self.background is None:
            self.notify("Pick a background first.", severity="warning")
            return
        ws = self.app.ws
        if self.scene_id is None:
            from garbtui.core.export.scene_files import next_scene_id

            self.scene_id = next_scene_id(ws, SCENE_PREFIX)
            self.stamp = None
        scene = self.build_scene()
        assert scene is not None
        try:
            saved = ws.save_scene(scene, expected=self.stamp)
        except (GarbError, OSError) as exc:
            self.notify(f"Not saved: {getattr(exc, 'message', exc)}", severity="error")
            return
        self.stamp = saved.stamp
        self.dirty = False
        self._update_title()
        note = ""
        if saved.conflict and saved.backup is not None:
            note = f" Someone else had saved it meanwhile: their version is kept as {saved.backup.name}."
        self.notify(f"Saved {saved.path}.{note} R renders it with labels.", timeout=5,
                    severity="warning" if note else "information")

    def action_render(self) -> None:
        problem = self._form_problem()
        if problem:
            self.notify(f"Not rendered: fix the fields first ({problem.splitlines()[0]}).", severity="error")
            return
        if self.background is None:
            self.notify("Pick a background first.", severity="warning")
            return
        if not self.placements:
            self.notify("Add a fragment first (a).", severity="warning")
            return
        ws = self.app.ws
        if self.scene_id is None:
            from garbtui.core.export.scene_files import next_scene_id

            self.scene_id = next_scene_id(ws, SCENE_PREFIX)
        scene = self.build_scene()
        assert scene is not None
        self.notify(f"Rendering {scene.id} at full size…", timeout=2)

        def work() -> None:
            from garbtui.core.export.scene_files import save_and_render

            try:
                result = save_and_render(ws, scene, fragments=self.fragments)
            except Exception as exc:  # shown as a message, never a traceback
                self.post_message(SceneRendered(scene, None, getattr(exc, "message", None) or repr(exc)))
                return
            self.post_message(SceneRendered(scene, result))

        self.run_worker(work, thread=True, group="placement-render", exit_on_error=False)

    def on_scene_rendered(self, message: SceneRendered) -> None:
        if message.error:
            self.notify(f"Render of {message.scene_id} failed: {message.error}", severity="error", timeout=8)
            return
        folder = self.app.ws.scene_dir(message.scene_id)
        if message.scene_id == self.scene_id:
            self.stamp = self.app.ws.scene_stamp(message.scene_id)
            # scene.json now holds what was rendered: clean, unless the user edited while it rendered.
            self.dirty = self.build_scene() != message.scene
            self._update_title()
        result = message.result
        h, w = result.image.shape[:2]
        warn = f" {len(result.warnings)} warning(s): see the list under the preview." if result.warnings else ""
        self.notify(f"Rendered {folder / 'render.jpg'} ({w}×{h}) and {folder / 'labels'}/ (COCO, YOLO, "
                    f"Label Studio): {len(result.kept)} of {len(result.objects)} object(s) labelled.{warn}",
                    timeout=8, severity="warning" if warn else "information")

    def action_open(self) -> None:
        from garbtui.tui.dialogs.choice import ChoiceDialog

        ws = self.app.ws
        ids = ws.scene_ids()
        if ids and not self.discard_ok("opens another scene", "o"):
            return
        if not ids:
            self.notify("No saved scenes yet: s saves this one.", timeout=3)
            return
        options: list[tuple[object, str]] = []
        for scene_id in ids:
            try:
                scene = ws.load_scene(scene_id)
                options.append((scene_id, f"{scene_id}  ({len(scene.placements)} on {scene.background_id})"))
            except GarbError as exc:
                options.append((scene_id, f"{scene_id}  (unreadable: {exc.message})"))

        def chosen(value: object) -> None:
            if value is not ChoiceDialog.CANCELLED:
                self.open_scene(str(value))

        self.app.push_screen(ChoiceDialog("Open a saved scene", options, self.scene_id), chosen)

    def open_scene(self, scene_id: str) -> bool:
        ws = self.app.ws
        try:
            stamp = ws.scene_stamp(scene_id)
            scene = ws.load_scene(scene_id)
        except GarbError as exc:
            self.notify(exc.message, severity="error")
            return False
        if scene.background_id not in ws.background_ids():
            self.notify(f"Scene {scene_id}: its background {scene.background_id} is not in the workspace.",
                        severity="error")
            return False
        self.load_scene(scene, stamp=stamp, dirty=False)
        self.notify(f"Opened {scene_id}: {len(scene.placements)} placement(s).", timeout=3)
        return True

    def load_scene(self, scene: Scene, *, stamp: FileStamp | None, dirty: bool, notes: list[str] | None = None) -> None:
        """Put `scene` in the editor (its background, placements, seed); the first placement selected."""
        self.scene_id = scene.id
        self.stamp = stamp
        self.seed = scene.seed
        self.note = scene.note
        self.notes = list(notes or [])
        self.placements = list(scene.placements)
        self.selected = None
        self.background = None
        self.set_background(scene.background_id)
        bg_list = self.query_one("#pl-backgrounds", OptionList)
        ids = [o.id for o in bg_list.options]
        if scene.background_id in ids:
            bg_list.highlighted = ids.index(scene.background_id)
        self.dirty = dirty
        self._discard_warned = None
        self.fill_placements()
        self.select(0 if self.placements else None)
        self._update_title()

    def action_recreate(self) -> None:
        from garbtui.tui.dialogs.choice import ChoiceDialog

        if self.background is None:
            self.notify("Pick the background to recreate onto first.", severity="warning")
            return
        queue = self.app.queue
        missing = [r.id for r in queue.rows.values() if not r.loaded]
        if missing:
            queue.update(queue.read_metas(missing))
        counts: dict[str, int] = {}
        for row in queue.rows.values():
            if row.meta is not None:
                counts[row.meta.image_id] = counts.get(row.meta.image_id, 0) + 1
        images = [i for i in self.app.ws.image_ids() if counts.get(i)]
        if not images:
            self.notify("No annotated photos with crops in this workspace.", severity="warning")
            return
        if not self.discard_ok("replaces this scene", "e"):
            return
        options = [(i, f"{i}  ({counts[i]} object(s))") for i in images]
        bg_id = self.background.id

        def chosen(value: object) -> None:
            if value is not ChoiceDialog.CANCELLED:
                self.recreate(str(value), bg_id)

        self.app.push_screen(ChoiceDialog(f"Recreate which photo's layout on {bg_id}?", options), chosen)

    def recreate(self, image_id: str, bg_id: str) -> None:
        """Lay out `image_id`'s annotated objects on `bg_id` in a worker, then load the result for editing."""
        ws, seed = self.app.ws, self.seed

        def work() -> None:
            from garbtui.core.recreate import recreate_scene

            try:
                scene, notes = recreate_scene(ws, image_id, bg_id, seed=seed)
            except Exception as exc:  # shown as a message, never a traceback
                self.post_message(SceneRecreated(image_id, None, [], getattr(exc, "message", None) or repr(exc)))
                return
            self.post_message(SceneRecreated(image_id, scene, notes))

        self.notify(f"Recreating {image_id} on {bg_id}…", timeout=2)
        self.run_worker(work, thread=True, group="placement-recreate", exit_on_error=False)

    def on_scene_recreated(self, message: SceneRecreated) -> None:
        if message.scene is None:
            self.notify(f"Cannot recreate {message.image_id}: {message.error}", severity="error", timeout=8)
            return
        scene = message.scene
        self.load_scene(scene, stamp=self.app.ws.scene_stamp(scene.id), dirty=True, notes=message.notes)
        self.notify(f"Recreated {len(scene.placements)} object(s) of {message.image_id} as {scene.id} "
                    "(notes under the preview). s saves, R renders.", timeout=6)

    def discard_ok(self, action: str, key: str) -> bool:
        """True when nothing unsaved would be lost; otherwise warn once, and the same key again goes ahead."""
        if not self.dirty or self._discard_warned == action:
            self._discard_warned = None
            return True
        self._discard_warned = action
        self.notify(f"Unsaved changes: s saves; {key} again {action} without saving.", severity="warning")
        return False

    def action_zoom(self) -> None:
        toggle_zoom(self)

    def action_new(self) -> None:
        if not self.discard_ok("starts a new scene", "n"):
            return
        self.scene_id = None
        self.stamp = None
        self.seed = 0
        self.note = ""
        self.notes = []
        self.placements = []
        self.dirty = False
        self.selected = None
        self.fill_placements()
        self.select(None)
        self.request_render()
        self._update_title()

    def action_quit_app(self) -> None:
        if self.discard_ok("quits", "q"):
            self.app.exit()

    def action_back(self) -> None:
        focused = self.focused
        if isinstance(focused, (Input, Select, Checkbox)) and focused in self.query_one(PlacementForm).query("*"):
            self.query_one("#pl-placements", OptionList).focus()  # first escape leaves the field
            return
        if self.discard_ok("leaves", "escape"):
            self.app.pop_screen()

    # -- resizing and themes ----------------------------------------------------------------
    def on_resize(self, event: Resize) -> None:
        if self._resize_timer is not None:
            self._resize_timer.stop()
        self._resize_timer = self.set_timer(0.1, self.request_render)

    def on_theme_switched(self) -> None:
        self.request_render()
