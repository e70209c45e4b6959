"""The SegFormer path through onnxruntime on a tiny model the test builds: preprocessing, logits to labels,
upsampling, class maps, seg.json + seg.png, and `garbtui segment --model` on a workspace."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from garbtui.cli import main
from garbtui.core.errors import InputError
from garbtui.core.scene import class_maps
from garbtui.core.scene.backgrounds import add_background
from garbtui.core.scene.segformer import SegformerOnnx, labels_from_logits, preprocess
from garbtui.core.scene.surfaces import SURFACE_ID, load_surfaces
from garbtui.core.workspace.atomic import atomic_write_png
from garbtui.core.workspace.store import Workspace
from tests.tiny_onnx import save_tiny_model

SKY, GREY, RED = (70, 130, 220), (100, 100, 100), (220, 30, 30)


def scene(w: int = 301, h: int = 203, horizon: int = 87) -> np.ndarray:
    """Blue sky above row `horizon`, grey road below, a red 'car' box; odd sizes on purpose."""
    rgb = np.empty((h, w, 3), np.uint8)
    rgb[:horizon] = SKY
    rgb[horizon:] = GREY
    rgb[140:190, 200:280] = RED
    return rgb


@pytest.fixture(params=[150, 19])
def model_path(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    return save_tiny_model(tmp_path / f"tiny{request.param}" / "model.onnx", request.param)


def test_the_model_is_tiny(model_path: Path) -> None:
    assert model_path.stat().st_size < 10_000


def test_preprocess_normalises_like_the_hugging_face_processor() -> None:
    x = preprocess(np.full((8, 8, 3), 255, np.uint8), (8, 8))
    assert x.shape == (1, 3, 8, 8) and x.dtype == np.float32
    want = (1 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    np.testing.assert_allclose(x[0, :, 0, 0], want, rtol=1e-5)
    assert preprocess(scene(), (64, 32)).shape == (1, 3, 32, 64)  # size is (W, H)


@pytest.mark.parametrize("size", [(512, 512), (128, 96), (64, 64)])
def test_whole_path_preprocess_logits_upsampling_class_map(model_path: Path, size: tuple[int, int]) -> None:
    m = SegformerOnnx(model_path, threads=1, size=size)
    rgb = scene()
    assert m.logits(rgb).shape[2:] == (size[1] // 4, size[0] // 4)  # SegFormer's output stride
    lab = m.segment(rgb)
    assert lab.shape == rgb.shape[:2] and lab.dtype == np.uint8  # upsampled to the photo
    assert (lab[:80] == SURFACE_ID["sky"]).all()  # /255, ImageNet normalisation and RGB order
    assert (lab[95:135] == SURFACE_ID["road"]).all()  # class map: road -> ground
    assert (lab[150:180, 215:265] == SURFACE_ID["vehicle"]).all()  # car -> vehicle
    sky_rows = np.flatnonzero(lab[:, 50] == SURFACE_ID["sky"])
    assert abs(int(sky_rows.max()) + 1 - 87) <= 4  # the boundary lands where it is (alignment)


def test_a_static_graph_dictates_its_input_size(tmp_path: Path) -> None:
    m = SegformerOnnx(save_tiny_model(tmp_path / "s.onnx", 150, static_hw=(64, 96)), threads=1)
    assert m.size == (96, 64)
    assert m.segment(scene()).shape == (203, 301)


def test_preprocessor_config_gives_the_input_size(tmp_path: Path) -> None:
    path = save_tiny_model(tmp_path / "m" / "model.onnx", 150)
    (path.parent / "preprocessor_config.json").write_text(json.dumps({"size": {"height": 128, "width": 160}}))
    assert SegformerOnnx(path.parent, threads=1).size == (160, 128)  # a folder holding model.onnx works too


def test_label_sets_are_complete() -> None:
    for name, (classes, mapping) in class_maps.LABEL_SETS.items():
        assert set(mapping) <= set(classes), name
        assert len(class_maps.surface_lut(name)) == len(classes)
    assert len(class_maps.ADE20K_CLASSES) == 150 and len(class_maps.CITYSCAPES_CLASSES) == 19
    lut = class_maps.surface_lut("ade20k")
    assert lut[6] == SURFACE_ID["road"] and lut[11] == SURFACE_ID["pavement"] and lut[20] == SURFACE_ID["vehicle"]
    assert lut[0] == SURFACE_ID["building"] and lut[2] == SURFACE_ID["sky"] and lut[12] == SURFACE_ID["person"]
    cs = class_maps.surface_lut("cityscapes")
    assert cs[0] == SURFACE_ID["road"] and cs[9] == SURFACE_ID["grass"] and cs[8] == SURFACE_ID["tree"]


def test_id2label_of_config_json_wins(tmp_path: Path) -> None:
    path = save_tiny_model(tmp_path / "model.onnx", 150)
    names = list(class_maps.ADE20K_CLASSES)
    names[6] = "sky"  # a model whose class 6 means sky
    (tmp_path / "config.json").write_text(json.dumps({"id2label": {str(i): n for i, n in enumerate(names)}}))
    lab = SegformerOnnx(path, threads=1, size=(128, 96)).segment(scene())
    assert (lab[95:135] == SURFACE_ID["sky"]).all()


def test_upsampling_reduces_to_surfaces_first() -> None:
    logits = np.full((1, 150, 2, 2), -5.0, np.float32)
    logits[0, 6, :, 0] = 3.0  # road on the left column
    logits[0, 11, :, 1] = 1.0  # sidewalk on the right
    logits[0, 12, :, 1] = 0.9  # person, close behind
    lab = labels_from_logits(logits, class_maps.surface_lut("ade20k"), (8, 4))
    assert (lab[:, :3] == SURFACE_ID["road"]).all() and (lab[:, -3:] == SURFACE_ID["pavement"]).all()


def test_bad_models_are_one_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(InputError, match="cannot load the model") as err:
        SegformerOnnx(junk)
    assert err.value.field == "model"
    with pytest.raises(InputError, match="model not found"):
        SegformerOnnx(tmp_path / "missing.onnx")
    torch_only = tmp_path / "hf"
    torch_only.mkdir()
    (torch_only / "model.safetensors").write_bytes(b"\0")
    with pytest.raises(InputError, match="optimum-cli export onnx"):
        SegformerOnnx(torch_only)
    odd = save_tiny_model(tmp_path / "odd" / "model.onnx", 19)
    (odd.parent / "config.json").write_text("{")
    with pytest.raises(InputError, match="cannot read"):
        SegformerOnnx(odd)


def test_segment_command_writes_seg_json_and_png(tmp_path: Path, model_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photo = tmp_path / "street.png"
    atomic_write_png(photo, scene(640, 360, 150))
    ws = Workspace.create(tmp_path / "ws")
    add_background(ws, photo, "front", bg_id="street")
    assert main(["segment", "-w", str(ws.root), "street", "--model", str(model_path)]) == 0
    seg = json.loads((ws.background_dir("street") / "seg.json").read_text())
    assert seg["schema_version"] == 1 and seg["label_map"]["file"] == "seg.png" and seg["regions"]
    assert seg["source"]["backend"] == "segformer-onnx"
    surfaces = load_surfaces(ws.background_dir("street"), 640, 360)
    assert surfaces is not None and surfaces.backend == "segformer-onnx"
    assert (surfaces.labels[:130] == SURFACE_ID["sky"]).all() and (surfaces.labels[200:260, :300] == SURFACE_ID["road"]).all()
    out = capsys.readouterr()
    assert "street" in out.out and "ground" in out.out


def test_segment_refuses_a_missing_extra_model_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = Workspace.create(tmp_path / "ws")
    assert main(["segment", "-w", str(ws.root), "--model", str(tmp_path / "nope.onnx")]) == 2
    assert "model not found" in capsys.readouterr().err
