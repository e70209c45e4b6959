"""SegFormer (or any `pixel_values -> logits` semantic segmentation model) exported to ONNX, run by onnxruntime.

onnxruntime is optional (`pip install 'garbtui[seg]'`) and imported only when a model is opened. Nothing
is downloaded: the model is a local .onnx file (class names from the config.json beside it, as
`optimum-cli export onnx` writes) or a local folder holding such an export.

Path: RGB uint8 -> resize (bilinear) to the model input -> /255, ImageNet mean/std -> NCHW float32 ->
session.run -> logits (1, C, h, w) (SegFormer: a quarter of the input) -> per-surface logits (the max over
the classes of each surface, through the class map) -> bilinear upsampling of those ~11 channels to the
photo size -> argmax -> uint8 surface map. Reducing to surfaces before upsampling costs 11 channels instead
of 150 at full size (80-150 ms instead of ~550 MB of floats for ADE20K) and differs from "upsample every
logit, argmax, map" only where two classes of different surfaces cross between low-resolution pixels.

Input size: a static graph's own size; else the preprocessor_config.json beside the model
({"size": {"height": 512, "width": 512}}, what the checkpoint was trained at); else 512x512.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from garbtui.core.errors import InputError
from garbtui.core.scene import class_maps
from garbtui.core.scene.surfaces import SURFACES
from garbtui.core.workspace.arrays import as_f32, as_u8

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)
DEFAULT_INPUT = (512, 512)  # (W, H): SegFormer's ADE20K checkpoints were trained at 512x512
INSTALL_HINT = "pip install 'garbtui[seg]'"


def preprocess(rgb: NDArray[np.uint8], size: tuple[int, int]) -> NDArray[np.float32]:
    """RGB uint8 (H, W, 3) -> (1, 3, h, w) float32, resized to size = (w, h) and ImageNet-normalised."""
    w, h = size
    x = as_u8(cv2.resize(rgb, (w, h), interpolation=cv2.INTER_LINEAR)) if rgb.shape[1::-1] != (w, h) else rgb
    f = (x.astype(np.float32) * np.float32(1.0 / 255.0) - IMAGENET_MEAN) / IMAGENET_STD
    return np.ascontiguousarray(f.transpose(2, 0, 1)[None], dtype=np.float32)


def surface_logits(logits: NDArray[np.float32], lut: NDArray[np.uint8]) -> NDArray[np.float32]:
    """(C, h, w) class logits -> (S, h, w) surface logits: the max over each surface's classes, -inf for
    surfaces no class maps to."""
    c = logits.shape[0]
    if len(lut) < c:
        raise InputError(f"the model gives {c} classes but its class map knows {len(lut)}", field="model")
    out = np.full((len(SURFACES), *logits.shape[1:]), -np.inf, np.float32)
    for s in np.unique(lut[:c]):
        out[int(s)] = np.max(logits[lut[:c] == s], axis=0)
    return out


def labels_from_logits(logits: NDArray[np.float32], lut: NDArray[np.uint8], out_size: tuple[int, int]) -> NDArray[np.uint8]:
    """(1, C, h, w) or (C, h, w) logits -> uint8 surface map of out_size = (W, H).

    The surface logits present are put channel-last and upsampled in one cv2.resize call (bilinear,
    pixel-centre aligned like torch's align_corners=False), then argmax over the channels.
    """
    if logits.ndim == 4:
        logits = logits[0]
    surf = surface_logits(logits, lut)
    present = np.array([s for s in range(surf.shape[0]) if np.isfinite(surf[s]).all()], np.uint8)
    width, height = out_size
    if len(present) == 1:
        return np.full((height, width), present[0], np.uint8)
    hwc = np.ascontiguousarray(surf[present].transpose(1, 2, 0))
    up = as_f32(cv2.resize(hwc, (width, height), interpolation=cv2.INTER_LINEAR))
    if up.ndim == 2:
        up = up[:, :, None]
    return np.ascontiguousarray(present[np.argmax(up, axis=2)])


def find_onnx(path: Path) -> Path:
    """The .onnx file of a model path: the file itself, or model.onnx (or the only .onnx) in a folder."""
    path = Path(path)
    if path.is_file():
        if path.suffix.lower() != ".onnx":
            raise InputError("is not an .onnx file (give an ONNX export of the model, or `auto`)", where=str(path),
                             field="model")
        return path
    if not path.is_dir():
        raise InputError("model not found (give `auto`, an .onnx file or a folder holding one)", where=str(path),
                         field="model")
    for name in ("model.onnx", "onnx/model.onnx"):
        if (path / name).is_file():
            return path / name
    found = sorted(path.glob("*.onnx"))
    if len(found) == 1:
        return found[0]
    if found:
        raise InputError(f"holds {len(found)} .onnx files; name the one to use", where=str(path), field="model")
    if any((path / n).is_file() for n in ("model.safetensors", "pytorch_model.bin")):
        raise InputError("holds PyTorch weights only: export them to ONNX first (README: `optimum-cli export onnx "
                         "--task semantic-segmentation`), then give the exported folder", where=str(path), field="model")
    raise InputError("holds no .onnx model", where=str(path), field="model")


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read: {exc}", where=str(path), field="model") from None
    return data if isinstance(data, dict) else None


def read_id2label(model_path: Path) -> dict[int, str] | None:
    """id2label from the config.json beside the ONNX file (what optimum-cli export writes), if any."""
    data = _read_json(model_path.parent / "config.json")
    raw = data.get("id2label") if data else None
    if not isinstance(raw, dict):
        return None
    try:
        return {int(k): str(v) for k, v in raw.items()}
    except ValueError:
        raise InputError("config.json: id2label keys must be class numbers", where=str(model_path.parent),
                         field="model") from None


def read_input_size(model_path: Path) -> tuple[int, int] | None:
    """(W, H) from preprocessor_config.json beside the model ({"size": {"height": h, "width": w}}), if any."""
    data = _read_json(model_path.parent / "preprocessor_config.json")
    size = data.get("size") if data else None
    if isinstance(size, dict) and isinstance(size.get("width"), int) and isinstance(size.get("height"), int):
        w, h = int(size["width"]), int(size["height"])
        if 32 <= w <= 4096 and 32 <= h <= 4096:
            return w, h
    return None


@dataclass
class SegformerOnnx:
    """A loaded ONNX segmentation model: onnxruntime session, class map and input size."""

    path: Path
    threads: int = 2
    size: tuple[int, int] | None = None  # (W, H); None: the graph's, the preprocessor's, or DEFAULT_INPUT
    label_set: str | None = None  # ade20k | cityscapes; None: config.json's id2label, else by class count
    name: str = "segformer-onnx"
    session: Any = field(init=False, repr=False)
    input_name: str = field(init=False)
    id2label: dict[int, str] | None = field(init=False)
    _lut: NDArray[np.uint8] | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        self.path = find_onnx(Path(self.path))
        try:
            import onnxruntime as ort
        except ImportError:
            raise InputError(f"the SegFormer backend needs onnxruntime: {INSTALL_HINT}", field="model") from None
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, int(self.threads))
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3  # errors only: its warnings are not the user's business
        # No busy-waiting threads: the machine is shared (TUI, other jobs); it costs ~nothing here.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for unreadable graphs
            raise InputError(f"cannot load the model: {str(exc).splitlines()[0][:200]}", where=str(self.path),
                             field="model") from None
        inputs = self.session.get_inputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4:
            raise InputError("is not an image segmentation model (one NCHW input expected)", where=str(self.path),
                             field="model")
        self.input_name = inputs[0].name
        shape = inputs[0].shape
        if self.size is None:
            if isinstance(shape[2], int) and isinstance(shape[3], int):
                self.size = (int(shape[3]), int(shape[2]))  # a static graph dictates its size
            else:
                self.size = read_input_size(self.path) or DEFAULT_INPUT
        self.id2label = read_id2label(self.path)

    @property
    def model(self) -> str:
        return str(self.path)

    def lut(self, num_classes: int) -> NDArray[np.uint8]:
        if self._lut is None:
            if self.id2label is not None:
                self._lut = class_maps.surface_lut(id2label=self.id2label)
            else:
                label_set = self.label_set or class_maps.guess_label_set(num_classes)
                if label_set is None:
                    raise InputError(f"the model gives {num_classes} classes, neither ADE20K (150) nor Cityscapes "
                                     "(19), and has no config.json with id2label beside it", where=str(self.path),
                                     field="model")
                self._lut = class_maps.surface_lut(label_set)
        return self._lut

    def logits(self, rgb: NDArray[np.uint8]) -> NDArray[np.float32]:
        assert self.size is not None
        out = self.session.run(None, {self.input_name: preprocess(rgb, self.size)})[0]
        arr = np.asarray(out, dtype=np.float32)
        if arr.ndim != 4 or arr.shape[0] != 1:
            raise InputError(f"gives logits of shape {arr.shape}; expected (1, classes, h, w)", where=str(self.path),
                             field="model")
        return arr

    def segment(self, rgb: NDArray[np.uint8]) -> NDArray[np.uint8]:
        """The photo's surface map (uint8 surface ids, photo-sized)."""
        logits = self.logits(rgb)
        return labels_from_logits(logits, self.lut(logits.shape[1]), (rgb.shape[1], rgb.shape[0]))
