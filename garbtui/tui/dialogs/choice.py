"""A modal list to pick one value (a label, a scene kind); escape cancels."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option


class ChoiceDialog(ModalScreen[object]):
    """Dismisses with the chosen value, or ChoiceDialog.CANCELLED."""

    CANCELLED = object()
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, options: Sequence[tuple[object, str]], current: object = None) -> None:
        super().__init__()
        self._title = title
        self._values = [value for value, _ in options]
        self._options = options
        self._current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self._title, classes="dialog-title")
            # Labels and paths are data: "Bottle [glass]" must not be read as markup.
            yield OptionList(*[Option(Text(text)) for _, text in self._options], id="choices")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        if self._current in self._values:
            options.highlighted = self._values.index(self._current)
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self._values[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(self.CANCELLED)
