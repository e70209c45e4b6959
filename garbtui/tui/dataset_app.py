"""DatasetApp: the dataset browser on a folder written by `garbtui generate` (see screens/dataset.py).

A small app of its own beside GarbApp (which opens a workspace): the same themes, styles, terminal
detection and image cache. It exits with (workspace, scene id) when the user opens an image's recipe
as a scene, for the caller to open the workspace app on it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.theme import Theme

from garbtui.core.workspace.imageio import quiet_opencv
from garbtui.tui.data.cache import ImageCache
from garbtui.tui.data.config import DEFAULT_THEME, TuiConfig, config_dir
from garbtui.tui.data.dataset import DatasetIndex
from garbtui.tui.data.themes import load_themes
from garbtui.tui.terminal import TerminalInfo, detect

OpenScene = tuple[Path, str]  # the workspace and the scene id to open there


class DatasetApp(App[OpenScene]):
    """Look at a generated dataset: images with their boxes and outlines, filters, counts, recipes."""

    TITLE = "garbtui dataset"
    CSS_PATH = ["garbtui.tcss", "dataset.tcss"]
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [Binding("ctrl+p", "command_palette", "Commands", show=False)]

    def __init__(self, dataset: str | Path, *, image_protocol: str | None = None, theme: str | None = None) -> None:
        driver_class = None
        if sys.platform != "win32":
            from garbtui.tui.term.driver import FilteringDriver

            driver_class = FilteringDriver
        super().__init__(driver_class=driver_class)
        quiet_opencv()
        self.index = DatasetIndex.scan(Path(dataset))
        self.sub_title = str(self.index.root)
        self.terminal_info: TerminalInfo = detect(image_protocol)
        self.adapt_colours = False
        self.image_cache = ImageCache()
        self.config = TuiConfig.load()
        self.garb_themes: list[Theme] = load_themes() + load_themes(config_dir() / "themes")
        for t in self.garb_themes:
            self.register_theme(t)
        wanted = theme or self.config.theme or DEFAULT_THEME
        self.theme = wanted if wanted in self.available_themes else DEFAULT_THEME

    def get_default_screen(self) -> Screen[OpenScene]:
        from garbtui.tui.screens.dataset import DatasetScreen

        return DatasetScreen(self.index)

    def on_mount(self) -> None:
        if self.is_headless and self.terminal_info.is_graphics:
            self.terminal_info = detect("halfcell")  # screenshots and tests have no terminal to show graphics
        if not self.is_headless:
            from garbtui.tui.term.colours import apply_colour_depth

            self.adapt_colours = True
            apply_colour_depth(self, self.terminal_info.colours)
