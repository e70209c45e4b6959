"""The "add a background" dialog: a photo path, its scene kind, and optionally horizon row and camera height."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select, Static

from garbtui.tui.dialogs.form import FormDialog


@dataclass(frozen=True)
class BackgroundRequest:
    """What the user typed, checked: the file exists; numbers are numbers."""

    path: Path
    scene: str
    horizon: float | None
    camera_height: float | None


class AddBackgroundDialog(FormDialog[BackgroundRequest | None]):
    """Dismisses with a BackgroundRequest, or None when cancelled."""


    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Add a background photo", classes="dialog-title")
            yield Input(placeholder="path to a clean photo (jpg/png)", id="bg-path")
            yield Select([("road: a straight road, perspective", "road"), ("front: close-up", "front")],
                         value="road", allow_blank=False, id="bg-scene")
            yield Input(placeholder="horizon row in pixels (empty: estimate it)", id="bg-horizon", type="number")
            yield Input(placeholder="camera height in metres (empty: 1.5)", id="bg-camera", type="number")
            yield Static("", classes="error", id="bg-error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Add", variant="primary", id="ok")

    def on_mount(self) -> None:
        self.query_one("#bg-path", Input).focus()

    def _submit(self) -> None:
        error = self.query_one("#bg-error", Static)
        raw_path = self.query_one("#bg-path", Input).value.strip()
        path = Path(raw_path).expanduser()
        if not raw_path or not path.is_file():
            error.update(f"no such file: {raw_path}" if raw_path else "type the path of a photo")
            return
        numbers: list[float | None] = []
        for field_id, name in (("#bg-horizon", "horizon row"), ("#bg-camera", "camera height")):
            raw = self.query_one(field_id, Input).value.strip()
            try:
                numbers.append(float(raw) if raw else None)
            except ValueError:
                error.update(f"{name} must be a number")
                return
        if numbers[1] is not None and numbers[1] <= 0:
            error.update("camera height must be above 0")
            return
        scene = str(self.query_one("#bg-scene", Select).value)
        self.dismiss(BackgroundRequest(path, scene, numbers[0], numbers[1]))
