"""Check a dataset folder as trainers will read it: images there at their size, labels in range, YOLO = COCO,
splits disjoint, every Label Studio task there.

Read as a stream: the COCO files are parsed one entry per line (as DatasetWriter writes them; any
other layout is read whole), annotations are compared with the YOLO label files image by image, and
only the image table (file, size, split) is held, so a check of 100,000 images stays in a few tens of MB.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from garbtui.core.export.dataset import DETECT_LABELS_DIR, IMAGES_DIR, LABELS_DIR, LS_DIR, SPLITS

MAX_PROBLEMS = 200  # listed problems; more are counted
BOX_TOLERANCE = 1e-6 + 5e-7  # normalised YOLO numbers are written with 6 decimals


def is_dataset(root: Path) -> bool:
    """A folder generate wrote (or is writing): its run manifest, or data.yaml beside images/ and no workspace."""
    root = Path(root)
    if (root / "generate.json").is_file():
        return True
    return (root / "data.yaml").is_file() and (root / IMAGES_DIR).is_dir() and not (root / "workspace.json").exists()


@dataclass
class DatasetCheck:
    """What a check found: counts, and each problem as (where, what)."""

    root: Path
    images: dict[str, int] = field(default_factory=lambda: {s: 0 for s in SPLITS})
    objects: int = 0
    classes: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    more_problems: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, where: str, what: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append((where, what))
        else:
            self.more_problems += 1


@dataclass(frozen=True)
class _Image:
    file_name: str
    width: int
    height: int
    split: str


def coco_entries(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """("head", {..}) then ("image", {..}) ... then ("annotation", {..}) ... of a COCO file, one line at a time."""
    with open(path, encoding="utf-8") as f:
        first = f.readline()
        if not first.rstrip().endswith(","):  # not written one entry per line: read it whole
            f.seek(0)
            data = json.load(f)
            yield "head", {k: v for k, v in data.items() if k not in ("images", "annotations")}
            for img in data.get("images", []):
                yield "image", img
            for ann in data.get("annotations", []):
                yield "annotation", ann
            return
        yield "head", json.loads(first.rstrip()[:-1] + "}")
        section = ""
        for line in f:
            text = line.strip()
            if text == '"images":[':
                section = "image"
            elif text == '"annotations":[':
                section = "annotation"
            elif text in ("],", "]}", "]", ""):
                continue
            else:
                yield section, json.loads(text.rstrip(","))


def _yolo_lines(path: Path) -> list[list[float]] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    return [[float(v) for v in line.split()] for line in text.splitlines() if line.strip()]


class _Checker:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.result = DatasetCheck(self.root)
        self.images: dict[int, _Image] = {}
        self._compared: set[int] = set()

    def run(self) -> DatasetCheck:
        r = self.result
        classes_file = self.root / "classes.txt"
        if not classes_file.is_file():
            r.problem("classes.txt", "missing")
        else:
            r.classes = classes_file.read_text(encoding="utf-8").splitlines()
        for name in ("data.yaml", "coco.json", f"{LS_DIR}/tasks.json", f"{LS_DIR}/config.xml"):
            if not (self.root / name).is_file():
                r.problem(name, "missing")
        on_disk = self._images_on_disk()
        if (self.root / "coco.json").is_file():
            self._check_coco(on_disk)
        self._check_splits()
        if (self.root / LS_DIR / "tasks.json").is_file():
            self._check_tasks()
        return r

    def _images_on_disk(self) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for split in SPLITS:
            folder = self.root / IMAGES_DIR / split
            found[split] = {e.name for e in os.scandir(folder) if e.is_file()} if folder.is_dir() else set()
        both = found["train"] & found["val"]
        for name in sorted(both)[:20]:
            self.result.problem(f"{IMAGES_DIR}/*/{name}", "in both train and val")
        return found

    def _check_coco(self, on_disk: dict[str, set[str]]) -> None:
        r = self.result
        ncat = 0
        listed: dict[str, set[str]] = {s: set() for s in SPLITS}
        current: int | None = None
        group: list[dict[str, Any]] = []
        try:
            for kind, entry in coco_entries(self.root / "coco.json"):
                if kind == "head":
                    cats = [c["name"] for c in entry.get("categories", [])]
                    ncat = len(cats)
                    if r.classes and cats != r.classes:
                        r.problem("coco.json", "categories differ from classes.txt")
                elif kind == "image":
                    self._image(entry, listed)
                elif kind == "annotation":
                    image_id = int(entry["image_id"])
                    if image_id != current:
                        self._compare(current, group)
                        current, group = image_id, []
                    group.append(entry)
                    self._annotation(entry, ncat)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            r.problem("coco.json", f"unreadable: {exc}")
            return
        self._compare(current, group)
        for image_id in self.images.keys() - self._compared:
            self._compare(image_id, [])
        for split in SPLITS:
            for name in sorted(on_disk[split] - listed[split])[:20]:
                r.problem(f"{IMAGES_DIR}/{split}/{name}", "image in no COCO entry")

    def _image(self, entry: dict[str, Any], listed: dict[str, set[str]]) -> None:
        r = self.result
        img = _Image(str(entry["file_name"]), int(entry["width"]), int(entry["height"]), str(entry.get("split", "")))
        self.images[int(entry["id"])] = img
        parts = img.file_name.split("/")
        if len(parts) != 3 or parts[0] != IMAGES_DIR or parts[1] not in SPLITS:
            r.problem(img.file_name, f"not under {IMAGES_DIR}/train or {IMAGES_DIR}/val")
            return
        if img.split and img.split != parts[1]:
            r.problem(img.file_name, f"listed as {img.split} but stored under {parts[1]}")
        r.images[parts[1]] += 1
        listed[parts[1]].add(parts[2])
        path = self.root / img.file_name
        try:
            with Image.open(path) as im:
                size = im.size
        except (OSError, ValueError) as exc:
            r.problem(img.file_name, f"missing or unreadable ({exc.__class__.__name__})")
            return
        if size != (img.width, img.height):
            r.problem(img.file_name, f"is {size[0]}x{size[1]}, COCO says {img.width}x{img.height}")

    def _annotation(self, ann: dict[str, Any], ncat: int) -> None:
        r = self.result
        r.objects += 1
        img = self.images.get(int(ann["image_id"]))
        where = f"coco.json annotation {ann.get('id')}"
        if img is None:
            r.problem(where, f"image {ann['image_id']} not listed")
            return
        x, y, w, h = (float(v) for v in ann["bbox"])
        if not (w > 0 and h > 0 and x >= 0 and y >= 0 and x + w <= img.width and y + h <= img.height):
            r.problem(where, f"box {ann['bbox']} outside {img.width}x{img.height}")
        if not 1 <= int(ann["category_id"]) <= ncat:
            r.problem(where, f"category {ann['category_id']} out of range 1..{ncat}")
        if not int(ann.get("area", 0)) > 0:
            r.problem(where, "area is not positive")

    def _compare(self, image_id: int | None, anns: list[dict[str, Any]]) -> None:
        """The YOLO label files of one image against its COCO annotations (same order, same boxes)."""
        if image_id is None:
            return
        self._compared.add(image_id)
        img = self.images.get(image_id)
        if img is None or len(img.file_name.split("/")) != 3:
            return
        _, split, name = img.file_name.split("/")
        stem = name.rsplit(".", 1)[0]
        files = [self.root / LABELS_DIR / split / f"{stem}.txt"]
        extra = self.root / DETECT_LABELS_DIR / split / f"{stem}.txt"
        if extra.is_file() or (self.root / DETECT_LABELS_DIR).is_dir():
            files.append(extra)
        nc = len(self.result.classes)
        for path in files:
            where = str(path.relative_to(self.root))
            lines = _yolo_lines(path)
            if lines is None:
                self.result.problem(where, "missing")
                continue
            if len(lines) != len(anns):
                self.result.problem(where, f"{len(lines)} object(s), COCO has {len(anns)}")
                continue
            for n, (values, ann) in enumerate(zip(lines, anns, strict=True), start=1):
                self._compare_line(f"{where}:{n}", values, ann, img, nc)

    def _compare_line(self, where: str, values: list[float], ann: dict[str, Any], img: _Image, nc: int) -> None:
        r = self.result
        if len(values) < 5 or (len(values) > 5 and len(values) % 2 == 0):
            r.problem(where, "neither `cls cx cy w h` nor `cls x1 y1 x2 y2 ...`")
            return
        cls = values[0]
        if cls != int(cls) or not 0 <= cls < nc:
            r.problem(where, f"class {cls:g} out of range 0..{nc - 1}")
        elif int(cls) + 1 != int(ann["category_id"]):
            r.problem(where, f"class {int(cls)} but COCO category {ann['category_id']}")
        coords = values[1:]
        if not all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in coords):
            r.problem(where, "coordinates outside 0..1")
            return
        if len(values) == 5:
            cx, cy, w, h = coords
            box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
        else:
            xs, ys = coords[0::2], coords[1::2]
            box = (min(xs), min(ys), max(xs), max(ys))
        x, y, bw, bh = (float(v) for v in ann["bbox"])
        want = (x / img.width, y / img.height, (x + bw) / img.width, (y + bh) / img.height)
        if any(abs(a - b) > 2 * BOX_TOLERANCE for a, b in zip(box, want, strict=True)):
            r.problem(where, "box differs from the COCO box")

    def _check_splits(self) -> None:
        r = self.result
        names: dict[str, set[str]] = {}
        for split in SPLITS:
            path = self.root / "annotations" / f"instances_{split}.json"
            if not path.is_file():
                r.problem(str(path.relative_to(self.root)), "missing")
                names[split] = set()
                continue
            try:
                names[split] = {str(e["file_name"]) for kind, e in coco_entries(path) if kind == "image"}
            except (OSError, ValueError, KeyError, TypeError) as exc:
                r.problem(str(path.relative_to(self.root)), f"unreadable: {exc}")
                names[split] = set()
                continue
            if len(names[split]) != r.images[split]:
                r.problem(str(path.relative_to(self.root)), f"{len(names[split])} image(s), coco.json has "
                          f"{r.images[split]} in {split}")
            wrong = [n for n in names[split] if not n.startswith(f"{IMAGES_DIR}/{split}/")]
            if wrong:
                r.problem(str(path.relative_to(self.root)), f"{len(wrong)} image(s) of another split, e.g. {wrong[0]}")
        if names.get("train", set()) & names.get("val", set()):
            r.problem("annotations", "train and val share images")

    def _check_tasks(self) -> None:
        r = self.result
        count = 0
        try:
            with open(self.root / LS_DIR / "tasks.json", encoding="utf-8") as f:
                first = f.readline()
                if first.strip() == "[":
                    count = sum(1 for line in f if line.strip() not in ("", "]"))
                else:
                    f.seek(0)
                    count = len(json.load(f))
        except (OSError, ValueError) as exc:
            r.problem(f"{LS_DIR}/tasks.json", f"unreadable: {exc}")
            return
        total = sum(r.images.values())
        if count != total:
            r.problem(f"{LS_DIR}/tasks.json", f"{count} task(s) for {total} image(s)")


def check_dataset(root: Path) -> DatasetCheck:
    """Verify a dataset folder; the result lists every problem found (empty: trainers can read it as is)."""
    return _Checker(Path(root)).run()
