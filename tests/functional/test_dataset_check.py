"""`garbtui dataset check`, `status` on a dataset folder, the caps on --count / --workers, empty-image warnings."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from garbtui.cli import main
from garbtui.core.export.check import check_dataset
from garbtui.core.workspace.store import Workspace
from tests.functional.test_generate_cli import make_workspace

ARGS = ["--seed", "4", "--size", "320x240", "--per-image", "2-4", "--val-fraction", "0.3", "--workers", "1", "-q"]


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return make_workspace(tmp_path_factory.mktemp("dscheck") / "ws")


@pytest.fixture(scope="module")
def dataset(ws: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dscheck_out") / "ds"
    assert main(["generate", "-w", str(ws.root), "--count", "8", "--out", str(out), *ARGS]) in (0, 1)
    return out


@pytest.fixture
def copy(dataset: Path, tmp_path: Path) -> Path:
    target = tmp_path / "ds"
    shutil.copytree(dataset, target)
    return target


def _first_label(root: Path) -> tuple[Path, Path]:
    """(an image with objects, its labels/ file)."""
    for label in sorted((root / "labels" / "train").glob("*.txt")):
        if label.read_text().strip():
            return root / "images" / "train" / f"{label.stem}.jpg", label
    raise AssertionError("no image with objects")


def test_a_generated_dataset_checks_clean(dataset: Path, capsys) -> None:
    result = check_dataset(dataset)
    assert result.ok, result.problems
    assert sum(result.images.values()) == 8 and result.objects > 0
    assert main(["dataset", "check", str(dataset)]) == 0
    assert "YOLO = COCO" in capsys.readouterr().out


def test_status_refuses_a_dataset_and_points_at_the_check(dataset: Path, capsys) -> None:
    assert main(["status", "-w", str(dataset)]) == 3
    err = capsys.readouterr().err
    assert "not a workspace" in err and "garbtui dataset check" in err
    assert main(["status", "-w", str(dataset), "--check"]) == 3


def test_a_workspace_is_not_a_dataset(ws: Workspace, capsys) -> None:
    assert main(["dataset", "check", str(ws.root)]) == 2
    assert "not a dataset folder" in capsys.readouterr().err


@pytest.mark.parametrize("damage", ["missing image", "resized image", "class out of range", "yolo box moved",
                                    "yolo line dropped", "image in both splits", "detect label missing",
                                    "split file missing", "task missing"])
def test_each_kind_of_damage_is_found(copy: Path, damage: str) -> None:
    image, label = _first_label(copy)
    lines = label.read_text().splitlines()
    if damage == "missing image":
        image.unlink()
    elif damage == "resized image":
        from PIL import Image

        with Image.open(image) as im:
            im.resize((100, 100)).save(image)
    elif damage == "class out of range":
        label.write_text("\n".join(["99 " + lines[0].split(" ", 1)[1], *lines[1:]]) + "\n")
    elif damage == "yolo box moved":
        detect = copy / "labels-detect" / "train" / label.name
        first = detect.read_text().splitlines()
        cls, cx, cy, w, h = first[0].split()
        detect.write_text("\n".join([f"{cls} {float(cx) + 0.01:.6f} {cy} {w} {h}", *first[1:]]) + "\n")
    elif damage == "yolo line dropped":
        label.write_text("".join(line + "\n" for line in lines[1:]))
    elif damage == "image in both splits":
        shutil.copy(image, copy / "images" / "val" / image.name)
    elif damage == "detect label missing":
        (copy / "labels-detect" / "train" / label.name).unlink()
    elif damage == "split file missing":
        (copy / "annotations" / "instances_val.json").unlink()
    elif damage == "task missing":
        tasks = (copy / "labelstudio" / "tasks.json").read_text().splitlines()
        (copy / "labelstudio" / "tasks.json").write_text("\n".join([tasks[0], tasks[1].rstrip(","), tasks[-1]]) + "\n")
    result = check_dataset(copy)
    assert not result.ok, damage
    assert main(["dataset", "check", str(copy)]) == 1


def test_counts_and_workers_without_meaning_are_refused_before_any_work(ws: Workspace, tmp_path: Path, capsys) -> None:
    out = tmp_path / "o"
    assert main(["generate", "-w", str(ws.root), "--count", str(10**12), "--out", str(out), "-q"]) == 2
    assert "must be at most 10,000,000" in capsys.readouterr().err
    assert main(["generate", "-w", str(ws.root), "--count", "5", "--out", str(out), "--workers", "1000", "-q"]) == 2
    assert "must be at most" in capsys.readouterr().err
    assert main(["generate", "-w", str(ws.root), "--count", "5", "--out", str(out), "--workers", "0", "-q"]) == 2
    assert main(["generate", "-w", str(ws.root), "--count", "5", "--out", str(out), "--per-image", "1-1000", "-q"]) == 2
    assert not out.exists()


def test_a_size_where_nothing_fits_is_refused_before_any_image(ws: Workspace, tmp_path: Path, capsys) -> None:
    # At 32x24 every road fragment is under 8 px: the planner drops the only background and refuses the run
    # (exit 2, naming why) instead of writing empty images (issue 12: no silent empty image).
    out = tmp_path / "tiny"
    rc = main(["generate", "-w", str(ws.root), "--count", "4", "--out", str(out), "--size", "32x24",
               "--background", "kerb", "--workers", "1", "-q"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "--size" in err and "kerb dropped at 32x24" in err and "under 8 px" in err
    assert not (out / "summary.json").exists()
