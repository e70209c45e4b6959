"""Typed messages that thread workers post back to the UI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

from garbtui.core.workspace.models import Scene
from garbtui.core.workspace.store import FileStamp
from garbtui.tui.data.queue import CropRow
from garbtui.tui.widgets.image_view import Frame

if TYPE_CHECKING:  # only for the annotations: cleanup and compose are loaded when first used
    from garbtui.core.cleanup import CleanupResult
    from garbtui.core.compose.render import RenderResult


class MetasLoaded(Message):
    """A batch of crop metas was read off the UI thread."""

    def __init__(self, rows: list[CropRow], final: bool) -> None:
        super().__init__()
        self.rows = rows
        self.final = final


@dataclass
class CleanupFrames:
    """The pictures of one cleanup run, already shrunk and rendered for their boxes."""

    clusters: Frame
    cutout: Frame


class CleanupRendered(Message):
    """A cleanup run finished; `generation` says whether it is still the newest request.

    Either `result` and `frames` are set, or both are None and `error` says why.
    """

    def __init__(
        self,
        crop_id: str,
        generation: int,
        result: CleanupResult | None,
        frames: CleanupFrames | None,
        error: str = "",
    ) -> None:
        super().__init__()
        self.crop_id = crop_id
        self.generation = generation
        self.result = result
        self.frames = frames
        self.error = error


class CropSaved(Message):
    """proc.png was written for a crop (backup: the earlier proc.png kept aside, if there was one)."""

    def __init__(
        self,
        crop_id: str,
        backup: str | None,
        error: str = "",
        *,
        conflict: bool = False,
        stamp: FileStamp | None = None,
        generation: int = 0,
    ) -> None:
        super().__init__()
        self.crop_id = crop_id
        self.backup = backup
        self.error = error
        self.conflict = conflict  # proc.png had been saved by someone else since the crop was opened
        self.stamp = stamp  # the new proc.png's FileStamp
        self.generation = generation  # which cleanup result was saved


class WorkspaceChanged(Message):
    """Crop folders changed on disk (anyone's save, new or removed crops): `rows` are re-read, `removed` gone."""

    def __init__(self, what: str, rows: list[CropRow] | None = None, removed: list[str] | None = None) -> None:
        super().__init__()
        self.what = what
        self.rows = rows or []
        self.removed = removed or []


class PreviewRendered(Message):
    """A placement preview render finished; `generation` says whether it is still the newest request.

    Either `result` and `frame` are set, or both are None and `error` says why.
    """

    def __init__(self, generation: int, result: RenderResult | None, frame: Frame | None, error: str = "") -> None:
        super().__init__()
        self.generation = generation
        self.result = result
        self.frame = frame
        self.error = error


class SceneRendered(Message):
    """A full-size render with labels was written (`result`), or failed (`error`)."""

    def __init__(self, scene: Scene, result: RenderResult | None, error: str = "") -> None:
        super().__init__()
        self.scene = scene
        self.scene_id = scene.id
        self.result = result
        self.error = error


class SceneRecreated(Message):
    """recreate_scene finished: a scene laid out like the reference photo, and notes for the user."""

    def __init__(self, image_id: str, scene: Scene | None, notes: list[str], error: str = "") -> None:
        super().__init__()
        self.image_id = image_id
        self.scene = scene
        self.notes = notes
        self.error = error
