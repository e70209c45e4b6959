"""Path resolution and export readers on the forms real exports use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from garbtui.core.errors import InputError
from garbtui.core.extract.labelstudio import detect_format, parse_config, parse_labelstudio
from garbtui.core.extract.paths import PathResolver, parse_path_map
from tests.conftest import LABELSTUDIO


def resolver(tmp_path: Path) -> PathResolver:
    return PathResolver(base_dir=tmp_path / "export", local_files_root=tmp_path / "files",
                        media_root=tmp_path / "media", path_maps=[("/srv/ls/files", str(tmp_path / "files"))])


def test_local_files_url_is_decoded(tmp_path: Path) -> None:
    r = resolver(tmp_path)
    assert r.resolve("/data/local-files/?d=photos/front_fa%C3%A7ade_01.jpg") == tmp_path / "files/photos/front_façade_01.jpg"
    assert r.resolve("/data/local-files/?d=photos/large%204000x3000.jpg") == tmp_path / "files/photos/large 4000x3000.jpg"


def test_host_prefix_is_dropped(tmp_path: Path) -> None:
    r = resolver(tmp_path)
    assert r.resolve("http://localhost:8080/data/local-files/?d=a/b.png") == tmp_path / "files/a/b.png"
    assert r.resolve("https://ls.example.org/data/upload/3/x-y.png") == tmp_path / "media/upload/3/x-y.png"


def test_path_map_and_relative(tmp_path: Path) -> None:
    r = resolver(tmp_path)
    assert r.resolve("/srv/ls/files/photos/t.png") == tmp_path / "files/photos/t.png"
    with pytest.raises(InputError, match="outside the folders"):  # a prefix is a path, not a string: no map
        r.resolve("/srv/ls/filesX/t.png")  # applies, and an absolute path outside every root is refused
    assert r.resolve("imgs/a.jpg") == tmp_path / "export/imgs/a.jpg"


def test_remote_url_and_bad_map_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="path map"):
        resolver(tmp_path).resolve("https://example.org/photo.jpg")
    with pytest.raises(InputError, match="OLD=NEW"):
        parse_path_map("nothing")


def test_formats_are_detected() -> None:
    assert detect_format(json.loads((LABELSTUDIO / "rectangles.json").read_text())) == "labelstudio-json"
    assert detect_format(json.loads((LABELSTUDIO / "rectangles.min.json").read_text())) == "labelstudio-min"
    with pytest.raises(InputError):
        detect_format({"foo": []})


def test_config_names_data_key_and_choices() -> None:
    cfg = parse_config(LABELSTUDIO / "taco_sample.config.xml")
    assert cfg.image_key == "image"
    assert cfg.scene_controls == {"scene"} and cfg.surface_controls == {"surface"}


def test_config_picks_the_image_among_several_fields() -> None:
    tasks = [{"id": 1, "data": {"photo": "a.jpg", "thumb": "b.jpg"}, "annotations": [{"id": 1, "result": [
        {"id": "r", "type": "rectanglelabels",
         "value": {"x": 1, "y": 1, "width": 2, "height": 2, "rectanglelabels": ["can"]}}]}]}]
    parsed = parse_labelstudio(tasks, where="x")
    assert not parsed.items and "several image-like fields" in parsed.skipped[0].reason
    from garbtui.core.extract.labelstudio import LabelConfig

    parsed = parse_labelstudio(tasks, where="x", config=LabelConfig(image_key="photo"))
    assert parsed.items[0].image_ref == "a.jpg"


def test_annotation_choice_and_predictions() -> None:
    task = {"id": 1, "data": {"image": "a.jpg"}, "annotations": [
        {"id": 1, "updated_at": "2026-01-01", "result": [_box("r1")]},
        {"id": 2, "updated_at": "2026-02-01", "result": [_box("r2"), _box("r3")]},
        {"id": 3, "was_cancelled": True, "result": []},
    ], "predictions": [{"id": 9, "score": 0.8, "result": [_box("p1")]}, 7]}
    latest = parse_labelstudio([task], where="x")
    assert [i.annotation_id for i in latest.items] == ["2"]
    everything = parse_labelstudio([task], where="x", annotations="all", predictions=True)
    assert [(i.annotation_id, i.from_prediction) for i in everything.items] == [("1", False), ("2", False), ("9", True)]
    assert any("by id only" in s.reason for s in everything.skipped)


def _box(rid: str) -> dict:
    return {"id": rid, "type": "rectanglelabels", "from_name": "label",
            "value": {"x": 10, "y": 10, "width": 20, "height": 20, "rectanglelabels": ["can"]}}
