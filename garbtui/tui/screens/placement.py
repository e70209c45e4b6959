"""Placement: compose a scene from a background and cleaned fragments, typed numerically, previewed live.

Three parts: the scene under edit is a SceneDraft (tui/data/scene_draft.py: placements, selection,
saving, starting over; no widgets), the live preview a PreviewRenderer (placement_render.py: renders in
a thread, the newest request wins), and this screen lays out the lists, the form and the preview, and
turns keys and list events into calls on the two.

Longer than garbtui's ~400-line habit: nine actions, three lists, the form and the preview of one
screen, each a few lines of glue; the rules they apply live in the two parts above.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.timer import Timer
from textual.widgets import Checkbox, Footer, Header, Input, OptionList, Select, Static

from garbtui.core.errors import GarbError
from garbtui.core.workspace.models import Placement, Scene
from garbtui.core.workspace.store import FileStamp
from garbtui.tui.data.ids import middle_ellipsis
from garbtui.tui.data.scene_draft import SceneDraft, scene_choices
from garbtui.tui.messages import PreviewRendered, SceneRecreated, SceneRendered
from garbtui.tui.screens.base import GarbScreen
from garbtui.tui.screens.placement_render import PreviewRenderer, recreate_layout, render_scene_files
from garbtui.tui.widgets import placement_lists as lists
from garbtui.tui.widgets.image_view import ImageView
from garbtui.tui.widgets.placement_fields import NumberField, PlacementForm
from garbtui.tui.widgets.placement_preview import objects_text, toggle_zoom
from garbtui.tui.widgets.styles import theme_colour


class PlacementScreen(GarbScreen):
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
        Binding("a", "add", "Add", tooltip="put the highlighted cleaned fragment on the background"),
        Binding("d,delete", "delete", "Delete", key_display="d", tooltip="remove the selected placement"),
        Binding("s", "save", "Save", tooltip="save the scene as scenes/<id>/scene.json"),
        Binding("R", "render", "Render", key_display="R",
                tooltip="render the scene at full size with COCO, YOLO and Label Studio labels"),
        Binding("o", "open", "Open scene", show=False, tooltip="open a saved scene"),
        Binding("e", "recreate", "Recreate photo", show=False,
                tooltip="lay out an annotated photo's objects on this background"),
        Binding("n", "new", "New scene", show=False, tooltip="start an empty scene on this background"),
        Binding("z", "zoom", "Zoom 1:1", show=False, tooltip="the selected placement at full resolution, and back"),
        Binding("u", "upright", "Upright", show=False,
                tooltip="rotation back to 0°: the fragment stands as it lay in its own photo "
                        "(the arrow by its name points to its photo's up)"),
        Binding("escape", "back", "Back", show=False, tooltip="leave the field, then the screen"),
        # The app's q, but it asks before losing a scene.
        Binding("q", "quit_app", "Quit", tooltip="leave garbtui (asks first when something is not saved)"),
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
        self.draft = SceneDraft(self.garb.ws)
        self.preview = PreviewRenderer(self.garb.ws)
        self._resize_timer: Timer | None = None
        self._objects_lines = -1  # rows the object list took last time (-1: an error was shown)

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
                    "↑ by the name: its photo's up · u upright\n↑↓ nudge · shift+↑↓ ×10 · tab next field", id="pl-keys")
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
        if self.draft.background is not None:
            try:
                meta = self.garb.ws.load_background_meta(self.draft.background.id)
            except GarbError:
                return
            if meta != self.draft.background:
                self.draft.background = meta
                self.query_one(PlacementForm).set_background(meta.width, meta.height)
                self.request_render()

    def has_unsaved_work(self) -> bool:
        return self.draft.dirty

    def unsaved_work(self) -> str:
        return "The scene on the placement screen is not saved (s saves it)."

    # -- lists ------------------------------------------------------------------------------
    def fill_backgrounds(self) -> None:
        keep = self.draft.background.id if self.draft.background is not None else None
        if not lists.fill_backgrounds(self.query_one("#pl-backgrounds", OptionList), self.garb.ws, keep):
            self.query_one("#pl-view", ImageView).clear("no backgrounds: add one on the images screen (i, then a) "
                                                        "or with `garbtui background add`")

    def fill_fragments(self) -> None:
        """Cleaned crops (proc.png saved), labelled; their metas are read once and kept."""
        queue = self.garb.queue
        missing = [r.id for r in queue.ordered() if r.status == "done" and not r.loaded]
        if missing:
            queue.update(queue.read_metas(missing))
        metas = [r.meta for r in queue.ordered() if r.status == "done" and r.meta is not None]
        for meta in metas:
            self.draft.remember(meta)
        lists.fill_fragments(self.query_one("#pl-fragments", OptionList), metas)

    def fill_placements(self) -> None:
        draft = self.draft
        width = lists.list_width(self.query_one("#pl-placements", OptionList))
        prompts = [lists.placement_prompt(i, p, draft.label_of(p.crop_id), width) for i, p in enumerate(draft.placements)]
        lists.fill_placements(self.query_one("#pl-placements", OptionList), prompts, draft.selected)

    @on(OptionList.OptionHighlighted, "#pl-backgrounds")
    def _background_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is not None and not event.option.disabled:
            self.set_background(event.option.id)

    @on(OptionList.OptionSelected, "#pl-fragments")
    def _fragment_selected(self, event: OptionList.OptionSelected) -> None:
        """enter on a fragment: swap it into the selected placement, or add it when there is none."""
        crop_id = event.option.id
        if crop_id is None or crop_id == lists.NO_FRAGMENT:
            return
        current, index = self.draft.current, self.draft.selected
        if current is None or index is None:
            self.action_add()
            return
        placement = current.model_copy(update={"crop_id": crop_id})
        if self.commit(index, placement):
            self.query_one(PlacementForm).load(placement, self.draft.label_of(placement.crop_id))

    @on(OptionList.OptionHighlighted, "#pl-placements")
    def _placement_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.select(event.option_index)

    @on(OptionList.OptionSelected, "#pl-placements")
    def _placement_selected(self, event: OptionList.OptionSelected) -> None:
        self.select(event.option_index)
        self.query_one("#pf-x", NumberField).focus()

    # -- editing ----------------------------------------------------------------------------
    def set_background(self, bg_id: str) -> None:
        draft = self.draft
        if draft.background is not None and draft.background.id == bg_id:
            return
        try:
            meta = self.garb.ws.load_background_meta(bg_id)
        except GarbError as exc:
            self.notify(exc.message, severity="error")
            return
        draft.use_background(meta)
        self.query_one(PlacementForm).set_background(meta.width, meta.height)
        self._update_title()
        self.request_render()

    def select(self, index: int | None) -> None:
        if not self.draft.select(index):
            return
        form = self.query_one(PlacementForm)
        current = self.draft.current
        if current is None:
            form.load(None)
        else:
            form.load(current, self.draft.label_of(current.crop_id))
        self.fill_placements()
        self.request_render()

    def commit(self, index: int, placement: Placement) -> bool:
        """Make `placement` the index-th one, if it can be rendered; False (and a field error) when not."""
        form = self.query_one(PlacementForm)
        problem = self.draft.check(index, placement)
        if problem is not None:
            if index == self.draft.selected:
                form.set_external_error(problem.field, problem.message)
            else:
                self.notify(problem.message, severity="error")
            return False
        self.draft.replace(index, placement)
        if index == self.draft.selected:
            form.accept(placement)
        self.fill_placements()
        self._update_title()
        self.request_render()
        return True

    @on(PlacementForm.Edited)
    def _edited(self, event: PlacementForm.Edited) -> None:
        event.stop()
        if self.draft.selected is not None:
            self.commit(self.draft.selected, event.placement)

    # -- preview ----------------------------------------------------------------------------
    def request_render(self) -> None:
        """Render the scene for the preview in a thread worker; the newest request wins."""
        view = self.query_one("#pl-view", ImageView)
        scene = self.draft.build_scene()
        generation = self.preview.request()
        if scene is None:
            self.preview.nothing_to_draw()
            return
        if not view.is_mounted or view.content_region.width <= 0:
            self.call_after_refresh(self._render_when_sized, generation)
            return
        spec = view.spec
        horizon = self.draft.background.horizon_row if self.draft.background is not None else None
        selected = self.draft.selected
        self._update_title()

        def work() -> None:
            message = self.preview.render(scene, spec, generation, horizon, selected)
            if message is not None:
                self.post_message(message)

        # Not exclusive=True: Textual cannot stop a running thread anyway, and a cancelled worker makes
        # workers.wait_for_complete() raise. Superseded requests skip themselves (PreviewRenderer.render).
        self.run_worker(work, thread=True, group="placement-preview", exit_on_error=False)

    def _render_when_sized(self, generation: int) -> None:
        if generation == self.preview.generation and self.query_one("#pl-view", ImageView).content_region.width > 0:
            self.request_render()

    def on_preview_rendered(self, message: PreviewRendered) -> None:
        if not self.preview.accept(message):
            return  # stale: a newer render is on its way
        objects = self.query_one("#pl-objects", Static)
        if message.frame is None:
            objects.set_class(True, "-error")
            objects.update(Text(f"cannot render: {message.error}"))
            self._objects_lines = -1
            current, index = self.draft.current, self.draft.selected
            problem = self.draft.check(index, current) if current is not None and index is not None else None
            if problem is not None:
                # e.g. another background put the contact point above its horizon: point at the field.
                self.query_one(PlacementForm).set_external_error(problem.field, problem.message)
            self._update_title()
            return
        self.query_one("#pl-view", ImageView).show_frame(message.frame)
        objects.set_class(False, "-error")
        self._show_objects()
        self._update_title()

    def _show_objects(self) -> None:
        text = objects_text(self.preview.result, self.draft.selected, error_style=theme_colour(self.app, "error", "red"),
                            warn_style=theme_colour(self.app, "warning", "yellow"), notes=self.draft.notes)
        objects = self.query_one("#pl-objects", Static)
        width = max(1, objects.content_region.width)
        lines = sum(max(1, -(-len(line) // width)) for line in text.plain.splitlines())  # rows after wrapping
        # A new layout only when the list's height changes: the preview beside it then keeps its pixels.
        objects.update(text, layout=lines != self._objects_lines)
        self._objects_lines = lines

    def auto_scale(self) -> float | None:
        """The scale `auto` resolved to for the selected placement in the latest preview (for nudging it)."""
        result, selected = self.preview.result, self.draft.selected
        if result is None or selected is None:
            return None
        for obj in result.objects:
            if obj.placement_index == selected and obj.scale is not None:
                return round(obj.scale.scale, 3)
        return None

    def _update_title(self) -> None:
        draft = self.draft
        name = draft.scene_id or "new scene"
        bg = draft.background.id if draft.background is not None else "no background"
        # Fits one line: ids are cut in the middle (their ends tell them apart) to leave room for the states.
        room = max(20, self.size.width - 2 - 40)
        name, bg = middle_ellipsis(name, room // 2), middle_ellipsis(bg, room - min(len(name), room // 2))
        text = Text.assemble((name, "bold"), f" on {bg} · {len(draft.placements)} placed", no_wrap=True,
                             overflow="ellipsis")
        if draft.dirty:
            text.append("  · unsaved", style="italic")
        elif draft.scene_id is not None and draft.stamp is not None:
            text.append("  · saved", style="italic")  # the state after `s`, in words
        if self.preview.busy:
            text.append("  · rendering…", style="italic")
        self.query_one("#pl-title", Static).update(text, layout=False)
        self.sub_title = f"placement · {middle_ellipsis(draft.scene_id or 'new scene', 40)}"

    # -- actions ----------------------------------------------------------------------------
    def action_add(self) -> None:
        if self.draft.background is None:
            self.notify("Pick a background first.", severity="warning")
            return
        frag = self.query_one("#pl-fragments", OptionList).highlighted_option
        if frag is None or frag.id is None or frag.id == lists.NO_FRAGMENT:
            self.notify("No cleaned fragment to add: clean crops first (queue screen, enter, c, s).",
                        severity="warning")
            return
        index = self.draft.add(self.draft.new_placement(frag.id))
        self.fill_placements()
        self.select(index)
        self.query_one("#pf-x", NumberField).focus()

    def action_delete(self) -> None:
        if self.draft.selected is None:
            self.notify("No placement selected.", timeout=2)
            return
        index = self.draft.delete_selected()
        self.fill_placements()
        self.select(index)
        if index is None:
            self.request_render()
            self.query_one("#pl-fragments", OptionList).focus()

    def _form_problem(self) -> str | None:
        return self.query_one(PlacementForm).errors.strip() or None

    def action_save(self) -> None:
        problem = self._form_problem()
        if problem:
            self.notify(f"Not saved: fix the fields first ({problem.splitlines()[0]}).", severity="error")
            return
        if self.draft.background is None:
            self.notify("Pick a background first.", severity="warning")
            return
        try:
            saved = self.draft.save()
        except (GarbError, OSError) as exc:
            self.notify(f"Not saved: {getattr(exc, 'message', exc)}", severity="error")
            return
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
        if self.draft.background is None:
            self.notify("Pick a background first.", severity="warning")
            return
        if not self.draft.placements:
            self.notify("Add a fragment first (a).", severity="warning")
            return
        self.draft.ensure_id()
        scene = self.draft.build_scene()
        assert scene is not None
        ws, fragments = self.garb.ws, self.preview.fragments
        self.notify(f"Rendering {scene.id} at full size…", timeout=2)
        self.run_worker(lambda: self.post_message(render_scene_files(ws, scene, fragments)),
                        thread=True, group="placement-render", exit_on_error=False)

    def on_scene_rendered(self, message: SceneRendered) -> None:
        result = message.result
        if result is None:
            self.notify(f"Render of {message.scene_id} failed: {message.error}", severity="error", timeout=8)
            return
        folder = self.garb.ws.scene_dir(message.scene_id)
        if self.draft.rendered(message.scene):
            self._update_title()
        h, w = result.image.shape[:2]
        warn = f" {len(result.warnings)} warning(s): see the list under the preview." if result.warnings else ""
        self.notify(f"Rendered {folder / 'render.jpg'} ({w}×{h}) and {folder / 'labels'}/ (COCO, YOLO, "
                    f"Label Studio): {len(result.kept)} of {len(result.objects)} object(s) labelled.{warn}",
                    timeout=8, severity="warning" if warn else "information")

    def action_open(self) -> None:
        from garbtui.tui.dialogs.choice import ChoiceDialog

        ids = self.garb.ws.scene_ids()
        if ids and not self.discard_ok("opens another scene", "o"):
            return
        if not ids:
            self.notify("No saved scenes yet: s saves this one.", timeout=3)
            return
        options = scene_choices(self.garb.ws)

        def chosen(value: object) -> None:
            if value is not ChoiceDialog.CANCELLED:
                self.open_scene(str(value))

        self.app.push_screen(ChoiceDialog("Open a saved scene", options, self.draft.scene_id), chosen)

    def open_scene(self, scene_id: str) -> bool:
        ws = self.garb.ws
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
        self.draft.reset(scene, stamp=stamp, dirty=dirty, notes=notes or [])
        self.set_background(scene.background_id)
        bg_list = self.query_one("#pl-backgrounds", OptionList)
        ids = [o.id for o in bg_list.options]
        if scene.background_id in ids:
            bg_list.highlighted = ids.index(scene.background_id)
        self.fill_placements()
        self.select(0 if self.draft.placements else None)
        self._update_title()

    def action_recreate(self) -> None:
        from garbtui.tui.dialogs.choice import ChoiceDialog

        if self.draft.background is None:
            self.notify("Pick the background to recreate onto first.", severity="warning")
            return
        counts = self.garb.queue.objects_per_image()
        images = [i for i in self.garb.ws.image_ids() if counts.get(i)]
        if not images:
            self.notify("No annotated photos with crops in this workspace.", severity="warning")
            return
        if not self.discard_ok("replaces this scene", "e"):
            return
        options = [(i, f"{i}  ({counts[i]} object(s))") for i in images]
        bg_id = self.draft.background.id

        def chosen(value: object) -> None:
            if value is not ChoiceDialog.CANCELLED:
                self.recreate(str(value), bg_id)

        self.app.push_screen(ChoiceDialog(f"Recreate which photo's layout on {bg_id}?", options), chosen)

    def recreate(self, image_id: str, bg_id: str) -> None:
        """Lay out `image_id`'s annotated objects on `bg_id` in a worker, then load the result for editing."""
        ws, seed = self.garb.ws, self.draft.seed
        self.notify(f"Recreating {image_id} on {bg_id}…", timeout=2)
        self.run_worker(lambda: self.post_message(recreate_layout(ws, image_id, bg_id, seed)),
                        thread=True, group="placement-recreate", exit_on_error=False)

    def on_scene_recreated(self, message: SceneRecreated) -> None:
        if message.scene is None:
            self.notify(f"Cannot recreate {message.image_id}: {message.error}", severity="error", timeout=8)
            return
        scene = message.scene
        self.load_scene(scene, stamp=self.garb.ws.scene_stamp(scene.id), dirty=True, notes=message.notes)
        self.notify(f"Recreated {len(scene.placements)} object(s) of {message.image_id} as {scene.id} "
                    "(notes under the preview). s saves, R renders.", timeout=6)

    def discard_ok(self, action: str, key: str) -> bool:
        """True when nothing unsaved would be lost; otherwise warn once, and the same key again goes ahead."""
        if self.draft.discard_ok(action):
            return True
        self.notify(f"Unsaved changes: s saves; {key} again {action} without saving.", severity="warning")
        return False

    def action_zoom(self) -> None:
        # No toast on success: over a Sixel picture it would hide the zoom until it goes (the footer says what z does).
        warning = toggle_zoom(self.query_one("#pl-view", ImageView), self.draft.selected)
        if warning:
            self.notify(warning, severity="warning")
            return
        self.request_render()

    def action_new(self) -> None:
        if not self.discard_ok("starts a new scene", "n"):
            return
        self.draft.reset()
        self.fill_placements()
        self.select(None)
        self.request_render()
        self._update_title()

    def action_upright(self) -> None:
        """Rotation back to 0°: the fragment stands as it lay in its own photo."""
        index, current = self.draft.selected, self.draft.current
        if index is None or current is None:
            self.notify("No placement selected.", timeout=2)
            return
        if current.rotation == 0:
            return
        placement = current.model_copy(update={"rotation": 0.0})
        if self.commit(index, placement):
            self.query_one(PlacementForm).load(placement, self.draft.label_of(placement.crop_id))

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
        self._resize_timer = self.set_timer(0.1, self._resized)

    def _resized(self) -> None:
        """The lists' entries fit their new width; the preview is drawn at its new size."""
        self.fill_backgrounds()
        self.fill_fragments()
        self.fill_placements()
        self.request_render()

    def on_theme_switched(self) -> None:
        self.request_render()
