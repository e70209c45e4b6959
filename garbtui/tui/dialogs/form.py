"""The shared behaviour of garbtui's small forms: enter or OK submits, escape or Cancel cancels."""

from __future__ import annotations

from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Button, Input


class FormDialog[ResultT](ModalScreen[ResultT]):
    """A modal form; subclasses check their fields in `_submit` and dismiss, and say what cancel returns."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ok":
            self._submit()
        else:
            self.action_cancel()

    # Each form defines _submit (check the fields, then dismiss or show the error) and action_cancel.
    def _submit(self) -> None: ...

    def action_cancel(self) -> None:
        self.dismiss(None)
