"""`?`: every key of every screen, built from the screens' own bindings so it never goes stale."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def _key(binding: Binding) -> str:
    key = binding.key_display or binding.key
    names = {"question_mark": "?", "plus": "+", "minus": "-", "escape": "esc", "left_square_bracket": "[",
             "right_square_bracket": "]"}
    return ", ".join(names.get(k.strip(), k.strip()) for k in key.split(","))


HIDDEN_ACTIONS = {"command_palette"}  # listed once by hand under "Everywhere"


def _section(title: str, bindings: Iterable[BindingType], extra: list[tuple[str, str]] | None = None) -> Text:
    text = Text()
    text.append(f"{title}\n", style="bold underline")
    seen: set[tuple[str, str]] = set()
    rows: list[tuple[str, str]] = []
    for b in bindings:
        if not isinstance(b, Binding):
            continue  # garbtui writes every binding as a Binding; Textual also allows plain tuples
        # Every described key is listed, footer or not; only the per-cluster copies of `1` are folded into "1-9".
        hidden = (b.id or "").startswith("toggle-") or b.action in HIDDEN_ACTIONS
        if not b.description or hidden or (b.key, b.action) in seen:
            continue
        seen.add((b.key, b.action))
        rows.append((_key(b), b.description))
    rows.extend(extra or [])
    for key, what in rows:
        text.append(f"  {key:>14}  ", style="bold")
        text.append(f"{what}\n")
    return text


def help_text() -> Text:
    """Every key, grouped by screen, from the screens' BINDINGS."""
    from garbtui.tui.app import GarbApp
    from garbtui.tui.screens.cleanup import CleanupScreen
    from garbtui.tui.screens.images import ImagesScreen
    from garbtui.tui.screens.placement import PlacementScreen
    from garbtui.tui.screens.queue import QueueScreen

    text = Text()
    text.append("garbtui keys", style="bold")
    text.append("   every action is also in the command palette (ctrl+p), with the themes\n\n", style="italic")
    text.append_text(_section("Crop queue (home)", QueueScreen.BINDINGS,
                              [("up down pgup pgdn", "move through the crops")]))
    text.append("\n")
    text.append_text(_section("Cleanup (enter on a crop)", CleanupScreen.BINDINGS))
    text.append("\n")
    text.append_text(_section("Photos and backgrounds (i)", ImagesScreen.BINDINGS,
                              [("up down", "move through the list")]))
    text.append("\n")
    text.append_text(_section("Placement (p)", PlacementScreen.BINDINGS, PlacementScreen.HELP_EXTRA))
    text.append("\n")
    text.append_text(_section("Everywhere", GarbApp.BINDINGS,
                              [("ctrl+p", "command palette: every action, themes"), ("tab", "move focus")]))
    return text


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
