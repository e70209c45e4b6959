"""Shown over everything while the terminal is smaller than garbtui can lay out legibly."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Middle
from textual.screen import ModalScreen
from textual.widgets import Static

MIN_WIDTH, MIN_HEIGHT = 70, 20  # the placement screen's three columns and a preview need this much


def too_small(width: int, height: int) -> bool:
    return width < MIN_WIDTH or height < MIN_HEIGHT


def message(width: int, height: int) -> str:
    return (f"This terminal is {width}x{height}.\ngarbtui needs at least {MIN_WIDTH}x{MIN_HEIGHT}:\n"
            "enlarge the window (or make the font smaller).\nq quits.")


class TooSmallScreen(ModalScreen[None]):
    """"Enlarge to at least WxH"; goes away by itself once the terminal is large enough."""

    DEFAULT_CSS = """
    TooSmallScreen { background: $background; align: center middle; }
    TooSmallScreen #too-small { width: auto; height: auto; color: $warning; text-style: bold; }
    """
    BINDINGS = [Binding("q", "app.quit", "Quit")]

    def compose(self) -> ComposeResult:
        with Middle(), Center():
            yield Static(message(*self.app.size), id="too-small")

    def show_size(self, width: int, height: int) -> None:
        self.query_one("#too-small", Static).update(message(width, height))
