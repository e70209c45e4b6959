"""A generated dataset as export's writers see it: each image record turned into the neutral ImageLabels.

The files themselves (layout, COCO, YOLO, Label Studio, summary) are export's: core/export/dataset.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from garbtui.core.export.dataset import (
    SPLITS,
    ClassCount,
    DatasetOptions,
    DatasetSummary,
    DatasetWriter,
    summary_lines,
)
from garbtui.core.export.objects import DropCounts, ImageLabels
from garbtui.core.generate.recipe import ImageRecord
from garbtui.core.generate.render import record_file
from garbtui.core.scene.taxonomy import supercategory

__all__ = ["SPLITS", "ClassCount", "DatasetSummary", "image_drops", "image_labels", "summary_lines", "write_dataset"]


def image_labels(rec: ImageRecord) -> ImageLabels:
    """A record as the dataset writers take it: its file, split, objects, and where it came from."""
    r = rec.recipe
    return ImageLabels(
        rec.image_file, rec.width, rec.height, rec.objects, r.split,
        coco_extra={"split": r.split, "background_id": r.background_id, "recipe": record_file(r.name)},
        ls_meta={"recipe": r.name, "split": r.split, "background_id": r.background_id},
    )


def image_drops(rec: ImageRecord) -> DropCounts:
    """Placements of the image left out of its labels, by reason (records of earlier releases: all as hidden)."""
    if rec.drops:
        return DropCounts(**{k: int(v) for k, v in rec.drops.items() if k in ("hidden", "outside", "too_small")})
    return DropCounts(hidden=rec.dropped)


def dataset_writer(out_dir: Path, categories: Sequence[str], options: DatasetOptions, total: int = 0) -> DatasetWriter:
    """The writer of a generated dataset's files (supercategories from the TACO taxonomy; report.png of `total`)."""
    from garbtui.core.export.report import sample_positions

    return DatasetWriter(out_dir, categories, options, {n: supercategory(n) for n in categories},
                         "garbtui synthetic litter dataset", sample_positions(total))


def write_dataset(out_dir: Path, records: Iterable[ImageRecord], categories: Sequence[str],
                  options: DatasetOptions | None = None) -> DatasetSummary:
    """Write every dataset-wide file of the folder from the records, in their order (streamed)."""
    writer = dataset_writer(out_dir, categories, options or DatasetOptions())  # no report: the count is unknown
    try:
        for rec in records:
            writer.add(image_labels(rec), image_drops(rec), len(rec.recipe.placements))
        return writer.commit()
    except BaseException:
        writer.discard()
        raise
