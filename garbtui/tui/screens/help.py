"""`?`: every key of every screen, built from the screens' own bindings so it never goes stale."""

from __future__ import annotations

import io
from collections.abc import Iterable

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def key_name(binding: Binding) -> str:
    key = binding.key_display or binding.key
    names = {"question_mark": "?", "plus": "+", "minus": "-", "escape": "esc", "left_square_bracket": "[",
             "right_square_bracket": "]"}
    return ", ".join(names.get(k.strip(), k.strip()) for k in key.split(","))


HIDDEN_ACTIONS = {"command_palette"}  # listed once by hand under "Everywhere"
KEY_WIDTH = 14  # the key column; descriptions wrap under their own column, never back under the keys


def binding_words(binding: Binding) -> tuple[str, str]:
    """What a key does, in the words help and the command palette both show: a short name (the footer's)
    and, when the binding has one, a sentence on what it does."""
    detail = binding.tooltip if binding.tooltip and binding.tooltip != binding.description else ""
    return binding.description, detail


def _section(title: str, bindings: Iterable[BindingType], extra: list[tuple[str, str]] | None = None) -> Group:
    rows: list[tuple[str, Text]] = []
    seen: set[tuple[str, str]] = set()
    for b in bindings:
        if not isinstance(b, Binding):
            continue  # garbtui writes every binding as a Binding; Textual also allows plain tuples
        # Every described key is listed, footer or not; only the per-cluster copies of `1` are folded into "1-9".
        hidden = (b.id or "").startswith("toggle-") or b.action in HIDDEN_ACTIONS
        if not b.description or hidden or (b.key, b.action) in seen:
            continue
        seen.add((b.key, b.action))
        name, detail = binding_words(b)
        words = Text(name, style="bold")
        if detail:
            words.append(f": {detail}")
        rows.append((key_name(b), words))
    rows.extend((key, Text(what)) for key, what in (extra or []))
    table = Table.grid(padding=(0, 2), pad_edge=False)
    table.add_column(width=KEY_WIDTH, justify="right", style="bold")  # long key lists wrap at spaces
    table.add_column(ratio=1, overflow="fold")
    for key, words in rows:
        table.add_row(key, words)
    return Group(Text(title, style="bold underline"), table)


def help_text() -> Group:
    """Every key, grouped by screen, from the screens' BINDINGS."""
    from garbtui.tui.app import GarbApp
    from garbtui.tui.screens.cleanup import CleanupScreen
    from garbtui.tui.screens.images import ImagesScreen
    from garbtui.tui.screens.placement import PlacementScreen
    from garbtui.tui.screens.queue import QueueScreen

    intro = Text("garbtui keys", style="bold")
    intro.append("  the footer shows the main ones; every action is also in the command palette (ctrl+p)",
                 style="italic")
    sections = [
        _section("Crop queue (home)", QueueScreen.BINDINGS, [("up down pgup pgdn", "move through the crops")]),
        _section("Cleanup (enter on a crop)", CleanupScreen.BINDINGS),
        _section("Photos and backgrounds (i)", ImagesScreen.BINDINGS, [("up down", "move through the list")]),
        _section("Placement (p)", PlacementScreen.BINDINGS, PlacementScreen.HELP_EXTRA),
        _section("Everywhere", GarbApp.BINDINGS,
                 [("ctrl+p", "command palette: every action, themes"), ("tab", "move focus")]),
    ]
    parts: list[Group | Text] = [intro]
    for section in sections:
        parts.extend([Text(""), section])
    return Group(*parts)


def plain_text(width: int = 100, renderable: object = None) -> str:
    """The help (or another screen's keys) as plain text, laid out `width` columns wide."""
    from rich.console import Console

    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(help_text() if renderable is None else renderable)
    return console.export_text()


class HelpScreen(ModalScreen[None]):
    """The key reference; escape, q or ? closes it."""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
        Binding("question_mark", "close", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static(help_text(), id="help-text")

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    def action_close(self) -> None:
        self.dismiss(None)
