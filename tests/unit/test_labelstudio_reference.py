"""Our Label Studio decoders and checks give label-studio-sdk's answers, recorded offline as fixtures."""

from __future__ import annotations

import hashlib
import json

import pytest

from garbtui.core.workspace.rle import decode_ls_rle
from tests.conftest import LABELSTUDIO, REPO
from tests.helpers.labelstudio_check import LabelConfig

REFERENCE = REPO / "tests" / "data" / "labelstudio_sdk"


def _brush_results():
    for task in json.loads((LABELSTUDIO / "brush.json").read_text()):
        for ann in task["annotations"]:
            yield from ann["result"]


def test_brush_rle_decodes_to_the_sdk_bytes() -> None:
    reference = json.loads((REFERENCE / "brush_reference.json").read_text())["results"]
    results = list(_brush_results())
    assert len(results) == len(reference) == 5
    for res in results:
        ref = reference[res["id"]]
        ours = decode_ls_rle(res["value"]["rle"], res["original_width"], res["original_height"])
        assert hashlib.sha256(ours.tobytes()).hexdigest() == ref["sha256"], res["id"]
        assert int((ours[:, :, 3] > 0).sum()) == ref["alpha_nonzero"] > 0


@pytest.mark.parametrize("case", json.loads((REFERENCE / "verdicts.json").read_text())["verdicts"],
                         ids=lambda c: c["case"])
def test_prediction_check_agrees_with_the_sdk(case: dict) -> None:
    config = LabelConfig((LABELSTUDIO / "taco_sample.config.xml").read_text())
    assert (not config.errors(case["prediction"])) == case["valid"], config.errors(case["prediction"])

