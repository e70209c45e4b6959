"""A generated dataset as the browser sees it: the images (split, name), their labels and recipe, filters.

Listing is one directory scan per split; each image's labels come from its record (recipes/NAME.json,
which holds the recipe, the boxes and the outlines), read in batches by a worker thread, so the
first screen paints at once even with 100,000 images. No widget here.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from garbtui.core.errors import GarbError
from garbtui.core.export.check import is_dataset
from garbtui.core.export.dataset import SPLITS, DatasetSummary
from garbtui.core.generate.recipe import ImageRecord, RunManifest

SPLIT_FILTERS = ("all", "train", "val")


@dataclass
class DatasetRow:
    """One image of the dataset; `record` is None until its labels are read (or when it has none)."""

    name: str  # file stem, e.g. 000042
    split: str
    file_name: str  # images/train/000042.jpg
    record: ImageRecord | None = None
    loaded: bool = False
    error: str = ""

    @property
    def labels(self) -> set[str]:
        return {o.label for o in self.record.objects} if self.record else set()

    @property
    def objects(self) -> int:
        return len(self.record.objects) if self.record else 0


@dataclass
class DatasetFilter:
    """Which images the list shows: a split and a class (None: any)."""

    split: str = "all"
    label: str | None = None

    def accepts(self, row: DatasetRow) -> bool:
        if self.split != "all" and row.split != self.split:
            return False
        return self.label is None or (row.loaded and self.label in row.labels)

    def describe(self) -> str:
        parts = [f"split: {self.split}"]
        if self.label is not None:
            parts.append(f"class: {self.label}")
        return ", ".join(parts)


@dataclass
class DatasetIndex:
    """The images of a dataset folder, its classes and summary, and the run that made it."""

    root: Path
    rows: list[DatasetRow]
    classes: list[str]
    summary: DatasetSummary | None
    manifest: RunManifest | None
    by_name: dict[str, DatasetRow] = field(default_factory=dict)

    @classmethod
    def scan(cls, root: Path) -> DatasetIndex:
        root = Path(root).resolve()
        if not root.is_dir() or not is_dataset(root):
            raise GarbError("not a dataset folder (no generate.json, or no data.yaml beside images/)", where=str(root))
        rows: list[DatasetRow] = []
        for split in SPLITS:
            folder = root / "images" / split
            if not folder.is_dir():
                continue
            names = sorted(e.name for e in os.scandir(folder) if e.is_file() and not e.name.startswith("."))
            rows += [DatasetRow(n.rsplit(".", 1)[0], split, f"images/{split}/{n}") for n in names]
        rows.sort(key=lambda r: r.name)
        classes_file = root / "classes.txt"
        classes = classes_file.read_text(encoding="utf-8").splitlines() if classes_file.is_file() else []
        summary = None
        # A run still going, or a damaged file: the counts come from the records instead.
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            summary = DatasetSummary.from_dict(json.loads((root / "summary.json").read_text(encoding="utf-8")))
        manifest = None
        with contextlib.suppress(GarbError):
            manifest = RunManifest.load(root / "generate.json")
        index = cls(root, rows, classes, summary, manifest)
        index.by_name = {r.name: r for r in rows}
        return index

    def load(self, rows: Iterable[DatasetRow]) -> None:
        """Read the records of `rows` (called from a worker thread, in batches)."""
        for row in rows:
            if row.loaded:
                continue
            try:
                row.record = ImageRecord.model_validate_json((self.root / "recipes" / f"{row.name}.json").read_bytes())
            except OSError:
                row.error = "no record (recipes/NAME.json)"
            except ValueError as exc:
                row.error = f"unreadable record: {str(exc).splitlines()[0]}"
            row.loaded = True

    def class_counts(self) -> dict[str, tuple[int, int]]:
        """Objects per class, (train, val): from summary.json (or the records read so far)."""
        if self.summary is not None:
            return {n: (c.objects.get("train", 0), c.objects.get("val", 0)) for n, c in self.summary.classes.items()}
        counts: dict[str, list[int]] = {n: [0, 0] for n in self.classes}
        for row in self.rows:
            for obj in row.record.objects if row.record else []:
                counts.setdefault(obj.label, [0, 0])[0 if row.split == "train" else 1] += 1
        return {n: (a, b) for n, (a, b) in counts.items()}

    @property
    def workspace(self) -> Path | None:
        """The workspace the run read, when it is still there."""
        if self.manifest is None or not self.manifest.workspace:
            return None
        path = Path(self.manifest.workspace)
        return path if path.is_dir() else None
