"""Edge cases found in review: each once produced a wrong result, a traceback or a path outside the workspace."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from garbtui.cli import main
from garbtui.core.errors import InputError
from garbtui.core.export.objects import corner_outlines
from garbtui.core.extract.labelstudio import parse_labelstudio
from garbtui.core.workspace.models import BackgroundMeta, ImageMeta
from tests.conftest import copy_sample


def _min_row(annotation_id: int, updated: str, boxes: int) -> dict:
    return {"image": "a.jpg", "id": 7, "annotation_id": annotation_id, "updated_at": updated,
            **({"label": [{"x": 10, "y": 10, "width": 5, "height": 5, "rectanglelabels": ["can"]}] * boxes}
               if boxes else {})}


def test_json_min_latest_annotation_that_removed_every_box_wins() -> None:
    rows = [_min_row(10, "2026-01-01", 1), _min_row(11, "2026-02-01", 0)]
    parsed = parse_labelstudio(rows, where="x.json")
    assert parsed.items == []
    reasons = {s.reason for s in parsed.skipped}
    assert "no regions" in reasons and any(r.startswith("older annotation") for r in reasons)
    assert [i.annotation_id for i in parse_labelstudio(rows, where="x", annotations="all").items] == ["10"]


@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (6, 1)])
def test_slivers_get_a_polygon_of_at_least_three_points(shape: tuple[int, int]) -> None:
    mask = np.zeros((10, 10), dtype=bool)
    mask[3:3 + shape[0], 4:4 + shape[1]] = True
    parts = corner_outlines(mask, offset=(100, 200))
    assert len(parts) == 1 and len(parts[0]) == 4  # the sliver's own pixel-corner rectangle
    xs, ys = [x for x, _ in parts[0]], [y for _, y in parts[0]]
    assert (min(xs), max(xs), min(ys), max(ys)) == (104, 104 + shape[1], 203, 203 + shape[0])


@pytest.mark.parametrize("name", ["/etc/passwd", "../image.jpg", "a/b.jpg"])
def test_meta_file_names_cannot_point_outside_their_folder(name: str) -> None:
    with pytest.raises(ValueError):
        ImageMeta(id="img", file=name, source_path="x", width=10, height=10)
    with pytest.raises(ValueError):
        BackgroundMeta(id="bg", file=name, width=10, height=10)


def _sample(tmp_path: Path) -> Path:
    return copy_sample(tmp_path / "ws")


def test_negative_seed_is_a_usage_error(tmp_path: Path, capsys) -> None:
    ws = _sample(tmp_path)
    assert main(["clean", "-w", str(ws), "--seed", "-1"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_recreate_refuses_an_unsafe_scene_id(tmp_path: Path, capsys) -> None:
    from garbtui.core.recreate import recreate_scene
    from garbtui.core.workspace.store import Workspace

    ws = Workspace.open(_sample(tmp_path))
    with pytest.raises(InputError, match="not a safe folder name"):
        recreate_scene(ws, ws.image_ids()[0], ws.background_ids()[0], scene_id="../evil")


def test_render_refuses_a_copied_scene_folder(tmp_path: Path, capsys) -> None:
    from garbtui.core.compose.fragment import outline_cutout
    from garbtui.core.workspace.models import CleanupRecipe, Placement, Scene
    from garbtui.core.workspace.store import Workspace

    ws = Workspace.open(_sample(tmp_path))
    crop = ws.crop_ids()[0]
    ws.save_proc(crop, outline_cutout(ws, crop), CleanupRecipe())
    bg = next(b for b in ws.background_ids() if ws.load_background_meta(b).scene == "front")
    ws.save_scene(Scene(id="orig", background_id=bg, placements=[Placement(crop_id=crop, x=300, y=400, scale=1.0)]))
    shutil.copytree(ws.scene_dir("orig"), ws.root / "scenes" / "copy")
    assert main(["render", str(ws.root / "scenes" / "copy")]) == 2
    err = capsys.readouterr().err
    assert "lies in scenes/copy/" in err and not (ws.scene_dir("orig") / "render.jpg").exists()
    assert json.loads((ws.scene_dir("orig") / "scene.json").read_text())["id"] == "orig"
