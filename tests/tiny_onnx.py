"""A tiny hand-weighted ONNX segmenter for tests (~1 KB, built with onnx.helper, no torch, no download).

Graph: pixel_values (N, 3, H, W) -> AveragePool 4x4/4 -> 1x1 Conv (C classes) -> logits (N, C, H/4, W/4),
SegFormer's interface and output stride. The weights decide on the *normalised* colour, so a test catches
a missing /255, a missing ImageNet normalisation, or RGB/BGR swapped:

  sky  logit = B_n - R_n - 1.0      road logit = 0.5      car logit = R_n - B_n - 2.0      others = -10

with the ADE20K ids (sky 2, road 6, car 20; 150 classes) or the Cityscapes ones (sky 10, road 0, car 13; 19).
A blue sky (70, 130, 220) gives B_n - R_n = 2.95 -> sky; grey asphalt (100, 100, 100) -> road; red
(220, 30, 30) gives R_n - B_n = 3.44 -> car. Without the normalisation the sky turns into road; in BGR
order the sky turns into car.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SPEC = {150: {"sky": 2, "road": 6, "car": 20}, 19: {"sky": 10, "road": 0, "car": 13}}


def build_tiny_model(num_classes: int = 150, static_hw: tuple[int, int] | None = None) -> onnx.ModelProto:
    ids = SPEC[num_classes]
    weights = np.zeros((num_classes, 3, 1, 1), np.float32)
    bias = np.full(num_classes, -10.0, np.float32)
    weights[ids["sky"], :, 0, 0] = (-1.0, 0.0, 1.0)
    bias[ids["sky"]] = -1.0
    bias[ids["road"]] = 0.5
    weights[ids["car"], :, 0, 0] = (1.0, 0.0, -1.0)
    bias[ids["car"]] = -2.0
    h, w = static_hw if static_hw else ("height", "width")
    x = helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["batch", 3, h, w])
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", num_classes, None, None])
    nodes = [
        helper.make_node("AveragePool", ["pixel_values"], ["pooled"], kernel_shape=[4, 4], strides=[4, 4]),
        helper.make_node("Conv", ["pooled", "W", "b"], ["logits"], kernel_shape=[1, 1]),
    ]
    graph = helper.make_graph(nodes, "tiny_segmenter", [x], [y],
                              initializer=[numpy_helper.from_array(weights, "W"), numpy_helper.from_array(bias, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="garbtui-tests")
    model.ir_version = 8  # readable by onnxruntime >= 1.10
    onnx.checker.check_model(model)
    return model


def save_tiny_model(path: Path, num_classes: int = 150, static_hw: tuple[int, int] | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(build_tiny_model(num_classes, static_hw), str(path))
    return path
