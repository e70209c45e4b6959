"""Typed messages that thread workers post back to the UI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from garbtui.tui.data.queue import CropRow


class MetasLoaded(Message):
    """A batch of crop metas was read off the UI thread."""

    def __init__(self, rows: list[CropRow], final: bool) -> None:
        super().__init__()
        self.rows = rows
        self.final = final


@dataclass
class CleanupFrames:
    """The pictures of one cleanup run, already shrunk and rendered for their boxes."""

    clusters: Any
    cutout: Any


class CleanupRendered(Message):
    """A cleanup run finished; `generation` says whether it is still the newest request."""

    def __init__(self, crop_id: str, generation: int, result: Any, frames: CleanupFrames | None, error: str = "") -> None:
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
        stamp: Any = None,
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
