"""A modal input for one number (a horizon row, say), checked against a range; empty may mean "none"."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from garbtui.tui.dialogs.form import FormDialog


class NumberDialog(FormDialog[object]):
    """Dismisses with a float, None (emptied, when allowed), or NumberDialog.CANCELLED."""

    CANCELLED = object()

    def __init__(
        self, title: str, value: float | None, *, low: float, high: float, allow_empty: bool = True, hint: str = ""
    ) -> None:
        super().__init__()
        self._title = title
        self._value = value
        self._low = low
        self._high = high
        self._allow_empty = allow_empty
        self._hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self._title, classes="dialog-title")
            if self._hint:
                yield Static(self._hint, classes="hint")
            initial = "" if self._value is None else f"{self._value:g}"
            yield Input(initial, placeholder=f"{self._low:g} … {self._high:g}", id="number", type="number")
            yield Static("", classes="error", id="number-error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("OK", variant="primary", id="ok")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def _submit(self) -> None:
        raw = self.query_one(Input).value.strip()
        error = self.query_one("#number-error", Static)
        if not raw:
            if self._allow_empty:
                self.dismiss(None)
            else:
                error.update("a number is needed")
            return
        try:
            value = float(raw)
        except ValueError:
            error.update(f"not a number: {raw!r}")
            return
        if not self._low <= value <= self._high:
            error.update(f"must be between {self._low:g} and {self._high:g}")
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(self.CANCELLED)
