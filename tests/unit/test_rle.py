"""Our RLE codecs against the reference implementations (pycocotools here; label-studio-sdk in test_labelstudio_reference)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from garbtui.core.errors import InputError
from garbtui.core.workspace.rle import coco_rle_decode, coco_rle_encode, decode_ls_rle, encode_window_rle
from tests.conftest import LABELSTUDIO


def _brush_results():
    for task in json.loads((LABELSTUDIO / "brush.json").read_text()):
        for ann in task["annotations"]:
            yield from ann["result"]


def test_brush_rle_with_wrong_size_is_refused() -> None:
    res = next(_brush_results())
    with pytest.raises(InputError, match="expected"):
        decode_ls_rle(res["value"]["rle"], 10, 10)


def test_truncated_brush_rle_is_a_clear_error() -> None:
    res = next(_brush_results())
    w, h = res["original_width"], res["original_height"]
    with pytest.raises(InputError):
        decode_ls_rle(res["value"]["rle"][:40], w, h)


def test_coco_rle_round_trips_and_matches_pycocotools() -> None:

    rng = np.random.default_rng(3)
    mask = np.zeros((37, 53), dtype=bool)
    mask[5:20, 7:40] = True
    mask[rng.random(mask.shape) > 0.97] = True
    mask[0, 0] = True  # starts with a foreground run
    ours = coco_rle_encode(mask)
    assert np.array_equal(coco_rle_decode(ours), mask)
    compressed = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    assert np.array_equal(coco_rle_decode({"size": compressed["size"], "counts": compressed["counts"].decode()}), mask)
    frpy = mask_utils.frPyObjects(ours, *ours["size"])
    assert np.array_equal(mask_utils.decode(frpy).astype(bool), mask)


@pytest.mark.parametrize("seed", range(6))
def test_window_rle_is_pycocotools_rle_of_the_full_mask(seed: int) -> None:
    rng = np.random.default_rng(seed)
    W, H = int(rng.integers(5, 60)), int(rng.integers(5, 60))
    mw, mh = int(rng.integers(1, W + 1)), int(rng.integers(1, H + 1))
    x0, y0 = int(rng.integers(0, W - mw + 1)), int(rng.integers(0, H - mh + 1))
    window = rng.random((mh, mw)) < 0.5
    full = np.zeros((H, W), dtype=np.uint8)
    full[y0:y0 + mh, x0:x0 + mw] = window
    ref = mask_utils.encode(np.asfortranarray(full))
    ours = encode_window_rle(window, (x0, y0), (W, H))
    assert ours == {"size": [H, W], "counts": ref["counts"].decode("ascii")}
