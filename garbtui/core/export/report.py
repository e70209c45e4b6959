"""report.png of a dataset: sample images with their boxes and outlines, class counts, object sizes.

People would rather look than read: one picture tells whether the objects sit where they should, are
labelled as what they are, and are big enough to learn from. draw_labels is also what the dataset
browser draws on an image.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from garbtui.core.export.dataset import SIZE_BINS, DatasetSummary
from garbtui.core.export.objects import ImageLabels, ObjectLabel
from garbtui.core.workspace.atomic import atomic_write_bytes

SHEET_WIDTH = 1280
COLUMNS = 4
SAMPLES = 12
BACKGROUND = (24, 24, 28)
TEXT = (230, 230, 230)
MUTED = (150, 150, 160)
# Tableau-like categorical colours, cycled by class index: neighbours differ in hue.
PALETTE = [(78, 121, 167), (242, 142, 43), (225, 87, 89), (118, 183, 178), (89, 161, 79), (237, 201, 72),
           (176, 122, 161), (255, 157, 167), (156, 117, 95), (186, 176, 172), (31, 119, 180), (255, 127, 14)]


def class_colour(index: int) -> tuple[int, int, int]:
    return PALETTE[index % len(PALETTE)]


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (OSError, TypeError, ImportError):  # Pillow built without FreeType: its fixed bitmap font
        return ImageFont.load_default()


def sample_positions(total: int, k: int = SAMPLES) -> set[int]:
    """Positions (0-based, in dataset order) of the images the report shows: evenly spread, always the first."""
    if total <= k:
        return set(range(total))
    return {i * total // k for i in range(k)}


def draw_labels(rgb: NDArray[np.uint8], objects: Sequence[ObjectLabel], classes: Sequence[str],
                scale: float = 1.0, names: bool = True) -> Image.Image:
    """The image with each object's outline and box drawn in its class colour (and its class name)."""
    im = Image.fromarray(rgb)
    if scale != 1.0:
        im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(im)
    font = _font(max(10, round(12 * max(scale, 0.75))))
    index = {n: i for i, n in enumerate(classes)}
    for obj in objects:
        colour = class_colour(index.get(obj.label, 0))
        for ring in obj.polygons:
            if len(ring) >= 2:
                draw.line([(x * scale, y * scale) for x, y in [*ring, ring[0]]], fill=colour, width=1)
        x0, y0, x1, y1 = obj.bbox
        bx0, by0 = x0 * scale, y0 * scale
        draw.rectangle([bx0, by0, max(bx0, x1 * scale - 1), max(by0, y1 * scale - 1)], outline=colour,
                       width=2 if scale >= 0.5 else 1)
        if names:
            draw.text((x0 * scale + 2, max(0.0, y0 * scale - 13)), obj.label, fill=colour, font=font)
    return im


def _bars(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], title: str, labels: Sequence[str],
          values: Sequence[int], colours: Sequence[tuple[int, int, int]]) -> None:
    x0, y0, x1, y1 = box
    font = _font(13)
    draw.text((x0, y0), title, fill=TEXT, font=font)
    rows = max(1, len(labels))
    row_h = max(12, min(22, (y1 - y0 - 24) // rows))
    label_w = min(220, max([draw.textlength(lab, font=font) for lab in labels] + [40.0]) + 8)
    top = max(values) if values and max(values) > 0 else 1
    for i, (lab, v, colour) in enumerate(zip(labels, values, colours, strict=True)):
        y = y0 + 24 + i * row_h
        draw.text((x0, y), lab, fill=MUTED, font=font)
        w = (x1 - x0 - label_w - 60) * v / top
        draw.rectangle([x0 + label_w, y + 2, x0 + label_w + max(w, 1), y + row_h - 4], fill=colour)
        draw.text((x0 + label_w + w + 6, y), str(v), fill=TEXT, font=font)


def render_report(root: Path, samples: Sequence[ImageLabels], summary: DatasetSummary, classes: Sequence[str]) -> bytes:
    """The report as PNG bytes (deterministic for the same dataset)."""
    thumb_w = SHEET_WIDTH // COLUMNS
    thumbs: list[Image.Image] = []
    for image in samples[:SAMPLES]:
        try:
            with Image.open(Path(root) / image.file_name) as src:
                rgb = np.asarray(src.convert("RGB"))
        except OSError:
            continue
        im = draw_labels(rgb, image.objects, classes, thumb_w / image.width, names=False)
        ImageDraw.Draw(im).text((4, 2), image.file_name.rsplit("/", 1)[-1], fill=TEXT, font=_font(11))
        thumbs.append(im)
    rows = (len(thumbs) + COLUMNS - 1) // COLUMNS
    thumb_h = max((t.height for t in thumbs), default=0)
    chart_h = max(200, 36 + 22 * max(len(classes), len(SIZE_BINS)))
    sheet = Image.new("RGB", (SHEET_WIDTH, 40 + rows * thumb_h + chart_h), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    draw.text((8, 10), f"{summary.total_images} images (train {summary.images.get('train', 0)}, val "
              f"{summary.images.get('val', 0)}), {summary.objects} objects, {summary.empty_images} empty images, "
              f"{summary.dropped} placements left out", fill=TEXT, font=_font(15))
    for i, t in enumerate(thumbs):
        sheet.paste(t, ((i % COLUMNS) * thumb_w, 40 + (i // COLUMNS) * thumb_h))
    top = 40 + rows * thumb_h + 8
    counts = [summary.classes[c].total if c in summary.classes else 0 for c in classes]
    _bars(draw, (8, top, SHEET_WIDTH // 2 - 8, top + chart_h - 16), "objects per class", list(classes), counts,
          [class_colour(i) for i in range(len(classes))])
    bins = [f"{lo}-{hi - 1} px" for lo, hi in zip(SIZE_BINS, SIZE_BINS[1:], strict=False)] + [f">= {SIZE_BINS[-1]} px"]
    _bars(draw, (SHEET_WIDTH // 2 + 8, top, SHEET_WIDTH - 8, top + chart_h - 16),
          "objects by longest side of the visible box", bins, summary.sizes, [(118, 183, 178)] * len(bins))
    buf = io.BytesIO()
    sheet.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def write_report(root: Path, samples: Sequence[ImageLabels], summary: DatasetSummary, classes: Sequence[str]) -> Path:
    path = Path(root) / "report.png"
    atomic_write_bytes(path, render_report(root, samples, summary, classes))
    return path
