"""The "add a background" dialog: a photo path, its scene kind, and optionally horizon row and camera height.

With a workspace the dialog adds the photo itself (in a thread) and, when the horizon it found is not to
be trusted, stays open and says so, as `garbtui background add` does on the command line: what happens
(litter placed by the photo's surfaces and its source scale) and what to do (type the row with h).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select, Static

from garbtui.core.errors import GarbError
from garbtui.core.workspace.store import Workspace
from garbtui.tui.dialogs.form import FormDialog


@dataclass(frozen=True)
class BackgroundRequest:
    """What the user typed, checked: the file exists; numbers are numbers."""

    path: Path
    scene: str
    horizon: float | None
    camera_height: float | None


@dataclass(frozen=True)
class AddedResult:
    """The background that was added, and the warning shown about its horizon (empty when none)."""

    bg_id: str
    advice: str = ""


class AddBackgroundDialog(FormDialog[AddedResult | None]):
    """Adds the photo and dismisses with an AddedResult, or None when cancelled."""

    def __init__(self, ws: Workspace) -> None:
        super().__init__()
        self.ws = ws
        self.added: AddedResult | None = None
        self._busy = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Add a background photo", classes="dialog-title")
            yield Input(placeholder="path to a clean photo (jpg/png)", id="bg-path")
            yield Select([("road: a straight road, perspective", "road"), ("front: close-up", "front")],
                         value="road", allow_blank=False, id="bg-scene")
            yield Input(placeholder="horizon row in pixels (empty: estimate it)", id="bg-horizon", type="number")
            yield Input(placeholder="camera height in metres (empty: 1.5)", id="bg-camera", type="number")
            yield Static("", classes="error", id="bg-error")
            yield Static("", id="bg-result")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Add", variant="primary", id="ok")

    def on_mount(self) -> None:
        self.query_one("#bg-path", Input).focus()

    def request(self) -> BackgroundRequest | None:
        """The typed fields, checked; None (with the reason shown) when they are not usable."""
        error = self.query_one("#bg-error", Static)
        raw_path = self.query_one("#bg-path", Input).value.strip()
        path = Path(raw_path).expanduser()
        if not raw_path or not path.is_file():
            error.update(f"no such file: {raw_path}" if raw_path else "type the path of a photo")
            return None
        numbers: list[float | None] = []
        for field_id, name in (("#bg-horizon", "horizon row"), ("#bg-camera", "camera height")):
            raw = self.query_one(field_id, Input).value.strip()
            try:
                numbers.append(float(raw) if raw else None)
            except ValueError:
                error.update(f"{name} must be a number")
                return None
        if numbers[1] is not None and numbers[1] <= 0:
            error.update("camera height must be above 0")
            return None
        scene = str(self.query_one("#bg-scene", Select).value)
        return BackgroundRequest(path, scene, numbers[0], numbers[1])

    def _submit(self) -> None:
        if self.added is not None:  # the warning was read: Close
            self.dismiss(self.added)
            return
        if self._busy:
            return
        req = self.request()
        if req is None:
            return
        self._busy = True
        self.query_one("#bg-error", Static).update("")
        self.query_one("#bg-result", Static).update("adding…")
        self.run_worker(lambda: self._add(req), thread=True, group="add-bg", exit_on_error=False)

    def _add(self, req: BackgroundRequest) -> None:
        from garbtui.core.scene.backgrounds import add_background_ex, horizon_advice, horizon_summary

        try:
            meta = add_background_ex(self.ws, req.path, req.scene, req.horizon, req.camera_height).meta
        except (GarbError, OSError) as exc:
            self.app.call_from_thread(self._failed, getattr(exc, "message", str(exc)))
            return
        advice = horizon_advice(meta) or ""
        self.app.call_from_thread(self._done, AddedResult(meta.id, advice), horizon_summary(meta))

    def _failed(self, message: str) -> None:
        self._busy = False
        self.query_one("#bg-result", Static).update("")
        self.query_one("#bg-error", Static).update(message)

    def _done(self, result: AddedResult, summary: str) -> None:
        self._busy = False
        if not result.advice:
            self.dismiss(result)
            return
        self.added = result
        self.query_one("#bg-result", Static).update(f"added {result.bg_id}: horizon {summary}\n⚠ {result.advice} "
                                                    "(h on the backgrounds list)")
        self.query_one("#ok", Button).label = "Close"
