"""GarbApp: the garbtui terminal app (crop queue, cleanup, images and backgrounds)."""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.theme import Theme

from garbtui.core.workspace.imageio import quiet_opencv
from garbtui.core.workspace.store import Workspace
from garbtui.tui.data import watch
from garbtui.tui.data.cache import ImageCache
from garbtui.tui.data.config import DEFAULT_THEME, TuiConfig, config_dir
from garbtui.tui.data.queue import CropQueue
from garbtui.tui.data.themes import load_themes
from garbtui.tui.messages import WorkspaceChanged
from garbtui.tui.screens.base import GarbScreen
from garbtui.tui.terminal import TerminalInfo, detect

IDLE_GC_CHECK = 2.0  # seconds between checks for an idle moment to collect garbage in
IDLE_GC_AFTER = 1.5  # seconds without a key or click that count as idle
WATCH_INTERVAL = 1.0  # seconds between looks at the crop folders for changes made by other processes


class GarbApp(App[None]):
    """Curate crops into clean cutouts, browse photos and backgrounds; keyboard first."""

    TITLE = "garbtui"
    CSS_PATH = "garbtui.tcss"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("q", "quit", "Quit", tooltip="leave garbtui (asks first when something is not saved)"),
        Binding("question_mark", "help", "Help", key_display="?", tooltip="every key of every screen"),
        Binding("ctrl+p", "command_palette", "Commands", show=False),
    ]

    def __init__(
        self,
        workspace_path: str | Path = ".",
        *,
        image_protocol: str | None = None,
        theme: str | None = None,
        remember_theme: bool = True,
        open_scene: str | None = None,
    ) -> None:
        driver_class = None
        if sys.platform != "win32":
            # Terminal answers (late probe replies) are taken out of the input before the key parser.
            from garbtui.tui.term.driver import FilteringDriver

            driver_class = FilteringDriver
        super().__init__(driver_class=driver_class)
        # OpenCV prints warnings (e.g. on a truncated PNG) straight to the terminal, over the screen;
        # garbtui reports those files itself.
        quiet_opencv()
        self.ws = Workspace.open(Path(workspace_path))
        self.sub_title = str(self.ws.root)
        self.terminal_info: TerminalInfo = detect(image_protocol)
        # Pictures and colours follow the terminal's colour depth once the app draws on a real one.
        self.adapt_colours = False
        self.image_cache = ImageCache()
        self.queue = CropQueue.scan(self.ws)
        self._crops_seen: watch.Snapshot | None = None
        self.config = TuiConfig.load()
        self._remember_theme = remember_theme
        self._open_scene = open_scene  # a scene to show in the placement screen at start (from the dataset browser)
        # Ours first, then the user's own (config folder/themes/*.toml), which may override ours by name.
        self.garb_themes: list[Theme] = load_themes() + load_themes(config_dir() / "themes")
        for t in self.garb_themes:
            self.register_theme(t)
        wanted = theme or self.config.theme or DEFAULT_THEME
        self.theme = wanted if wanted in self.available_themes else DEFAULT_THEME

    def get_default_screen(self) -> Screen[None]:
        from garbtui.tui.screens.queue import QueueScreen

        return QueueScreen()

    def on_mount(self) -> None:
        if self.is_headless and self.terminal_info.is_graphics:
            # Screenshots and tests have no terminal to show graphics: draw half-cells instead.
            self.terminal_info = detect("halfcell")
        if not self.is_headless:
            self._adapt_to_terminal()
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self._tune_gc()
        self.call_after_refresh(self._check_size)
        self._poll_workspace()  # the first look only records the folders (in a thread: 5,000 stats)
        self.set_interval(WATCH_INTERVAL, self._poll_workspace, name="watch-workspace")
        if self._open_scene is not None:
            self.call_after_refresh(self._show_scene, self._open_scene)

    def _show_scene(self, scene_id: str) -> None:
        """The placement screen with a saved scene loaded (what the dataset browser's `o` asks for)."""
        from garbtui.tui.screens.placement import PlacementScreen

        self.action_placement()
        screen = self.screen
        if scene_id not in self.ws.scene_ids():
            self.notify(f"Scene {scene_id} is not in this workspace (scenes/{scene_id}/scene.json).", severity="error")
            return
        if isinstance(screen, PlacementScreen):
            # Once the screen has mounted its lists; open_scene says itself why a scene cannot be shown.
            self.call_after_refresh(screen.open_scene, scene_id)

    # -- the terminal -----------------------------------------------------------------------
    def _check_size(self) -> None:
        self.on_resize(events.Resize(self.size, self.size))

    def on_resize(self, event: events.Resize) -> None:
        """Below the smallest legible size, say how large the terminal must be; above it, get out of the way."""
        from garbtui.tui.screens.too_small import TooSmallScreen, too_small

        width, height = event.size
        top = self.screen_stack[-1] if self.screen_stack else None
        if too_small(width, height):
            if isinstance(top, TooSmallScreen):
                top.show_size(width, height)
            elif top is not None:
                self.push_screen(TooSmallScreen())
        elif isinstance(top, TooSmallScreen):
            self.pop_screen()

    def _adapt_to_terminal(self) -> None:
        """Colours as deep as the terminal shows them; warn once about a forced protocol it lacks."""
        from garbtui.tui.term.colours import apply_colour_depth

        info = self.terminal_info
        self.adapt_colours = True
        apply_colour_depth(self, info.colours)
        for warning in info.warnings:
            self.notify(f"{warning}. `garbtui doctor` explains.", severity="warning", timeout=10)
        # Answers that arrive after the probe's deadline are dropped by the driver's input filter
        # (garbtui.tui.term.driver.late_replies() lists them); nothing on screen changes because of them.

    # -- garbage collection ------------------------------------------------------------------
    def _tune_gc(self) -> None:
        """Run Python's full garbage collections only while the user is idle.

        Previews are made of many small objects (a Segment and a Style per cell); with a few hundred
        cached, a full collection takes 100 ms or more and would land in the middle of a keypress.
        Young generations are still collected as usual; the full pass runs after a pause in typing.
        """
        self._gc_thresholds = gc.get_threshold()
        young, middle, _ = self._gc_thresholds
        gc.set_threshold(young, middle, 1_000_000)
        self._last_input = time.monotonic()
        self.set_interval(IDLE_GC_CHECK, self._collect_when_idle, name="idle-gc")

    def _collect_when_idle(self) -> None:
        if time.monotonic() - self._last_input > IDLE_GC_AFTER and gc.get_count()[2] > 0:
            gc.collect()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown)):
            self._last_input = time.monotonic()
        await super().on_event(event)

    def on_unmount(self) -> None:
        thresholds = getattr(self, "_gc_thresholds", None)
        if thresholds is not None:
            gc.set_threshold(*thresholds)

    # -- other processes --------------------------------------------------------------------
    def _poll_workspace(self) -> None:
        self.run_worker(self._check_workspace, thread=True, group="watch", exclusive=True, exit_on_error=False)

    def _check_workspace(self) -> None:
        """Thread: find crop folders changed by anyone (another terminal, `garbtui clean`) and re-read them."""
        now = watch.snapshot(self.ws.root / "crops")
        seen, self._crops_seen = self._crops_seen, now
        if seen is None:
            return
        changes = watch.diff(seen, now)
        if changes:
            rows = self.queue.read_metas(changes.added + changes.changed)
            self.post_message(WorkspaceChanged("crops", rows=rows, removed=changes.removed))

    def on_workspace_changed(self, message: WorkspaceChanged) -> None:
        for crop_id in message.removed:
            self.queue.rows.pop(crop_id, None)
        self.queue.update(message.rows)
        for screen in self.garb_screens():
            screen.on_crops_changed()

    def _theme_changed(self, theme: Theme) -> None:
        if self._remember_theme and theme.name != self.config.theme:
            self.config.theme = theme.name
            self.config.save()
        self.refresh_css()
        # Checkerboards follow the theme (light or dark), so cached previews are stale now.
        self.image_cache.frames = type(self.image_cache.frames)(self.image_cache.frames.capacity)
        for screen in self.garb_screens():
            screen.on_theme_switched()

    def garb_screens(self) -> list[GarbScreen]:
        """The app's own screens on the stack, bottom first (dialogs and Textual's screens left out)."""
        return [s for s in self.screen_stack if isinstance(s, GarbScreen)]

    # -- actions ----------------------------------------------------------------------------
    async def action_quit(self) -> None:
        """Quit; first ask when a screen holds unsaved work (a cleaned cutout, a placed scene)."""
        unsaved = [s for s in self.garb_screens() if s.has_unsaved_work()]
        if not unsaved:
            self.exit()
            return
        from garbtui.tui.dialogs.confirm import ConfirmDialog

        # The lowest screen's: a cleanup screen only ever sits right above the queue, so its cutout is named
        # before a scene on a placement screen opened later (from the palette).
        detail = unsaved[0].unsaved_work()

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(
            ConfirmDialog("Quit without saving?", detail, yes="Quit"),
            answered,
        )

    def action_help(self) -> None:
        from garbtui.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_set_theme(self, name: str) -> None:
        if name in self.available_themes:
            self.theme = name

    def action_images(self) -> None:
        from garbtui.tui.screens.images import ImagesScreen

        if not isinstance(self.screen, ImagesScreen):
            self.push_screen(ImagesScreen())

    def action_placement(self) -> None:
        from garbtui.tui.screens.placement import PlacementScreen

        if any(isinstance(s, PlacementScreen) for s in self.screen_stack):
            return  # one placement screen: a second would hide the first's unsaved scene
        self.push_screen(PlacementScreen())

    def open_cleanup(self, crop_id: str) -> None:
        from garbtui.tui.screens.cleanup import CleanupScreen

        self.push_screen(CleanupScreen(crop_id))

    # -- command palette --------------------------------------------------------------------
    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        from garbtui.tui.screens.help import binding_words, key_name

        # Textual's own, less its Quit (ours below asks before losing work, in the words of help) and its
        # Keys panel (help, `?`, lists every key).
        yield from (c for c in super().get_system_commands(screen) if c.title not in ("Quit", "Keys"))
        seen: set[str] = {"quit", "quit_app", "help"}
        # Every binding of the current screen is an entry, so the palette always lists every action,
        # named as help names it.
        for binding in getattr(screen, "BINDINGS", []):
            if not isinstance(binding, Binding) or not binding.description or binding.action in seen:
                continue
            seen.add(binding.action)
            name, detail = binding_words(binding)
            keys = key_name(binding)
            yield SystemCommand(
                name,
                f"{detail} · key {keys}" if detail else f"key {keys}",
                lambda action=binding.action, s=screen: self.call_later(s.run_action, action),
            )
        yield SystemCommand("Images and backgrounds", "browse photos, set scene and horizon, add backgrounds · key i",
                            self.action_images)
        yield SystemCommand("Help", "every key of every screen · key ?", self.action_help)
        yield SystemCommand("Placement", "place fragments on a background · key p", self.action_placement)
        yield SystemCommand("Quit", "leave garbtui (asks first when something is not saved) · key q", self.action_quit)
        for name in sorted(self.available_themes):
            yield SystemCommand(f"Theme: {name}", "switch and remember the colour theme",
                                lambda n=name: self.action_set_theme(n))

