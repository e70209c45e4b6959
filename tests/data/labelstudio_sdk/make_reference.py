"""Record label-studio-sdk's answers as fixtures, so the suite compares against it without installing it.

label-studio-sdk pins numpy and opencv below today's releases; installing it next to garbtui would test an
environment no user has. Run this in a venv of its own whenever the SDK or the shared exports change:

    python3.12 -m venv /tmp/lsref && /tmp/lsref/bin/pip install label-studio-sdk
    /tmp/lsref/bin/python tests/data/labelstudio_sdk/make_reference.py [SHARED_DIR]

It writes, beside itself:
- brush_reference.json: for every brush result of shared/labelstudio/brush.json, the SHA-256 of the RGBA
  bytes `label_studio_sdk.converter.brush.decode_rle` gives, and its count of non-zero alpha pixels;
- verdicts.json: `LabelInterface.validate_prediction` on prediction.json (a garbtui render's prediction)
  and on mutations of it, for the TACO project's labeling config, with the SDK's error messages.
It never imports garbtui.
"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
from label_studio_sdk import __version__ as sdk_version  # type: ignore[attr-defined]  # not in the SDK's stubs
from label_studio_sdk.converter.brush import decode_rle
from label_studio_sdk.label_interface import LabelInterface

HERE = Path(__file__).resolve().parent


def brush_reference(shared: Path) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for task in json.loads((shared / "labelstudio" / "brush.json").read_text()):
        for ann in task["annotations"]:
            for res in ann["result"]:
                rgba = np.asarray(decode_rle(res["value"]["rle"]), dtype=np.uint8)
                w, h = res["original_width"], res["original_height"]
                out[res["id"]] = {
                    "width": w,
                    "height": h,
                    "sha256": hashlib.sha256(rgba.tobytes()).hexdigest(),
                    "alpha_nonzero": int((rgba.reshape(h, w, 4)[:, :, 3] > 0).sum()),
                }
    return out


def mutations(prediction: dict) -> list[tuple[str, dict]]:
    """The prediction as garbtui writes it, then one defect at a time."""
    cases: list[tuple[str, dict]] = [("as written", prediction)]

    def mutate(name: str, change) -> None:
        p = copy.deepcopy(prediction)
        change(p["result"])
        cases.append((name, p))

    mutate("unknown label", lambda r: r[0]["value"].__setitem__("rectanglelabels", ["Not a label"]))
    mutate("unknown control", lambda r: r[0].__setitem__("from_name", "nobox"))
    mutate("unknown object", lambda r: r[0].__setitem__("to_name", "photo"))
    mutate("type of another control", lambda r: r[0].__setitem__("type", "polygonlabels"))
    mutate("no value", lambda r: r[0].pop("value"))
    mutate("polygon label unknown", lambda r: r[-1]["value"].__setitem__("polygonlabels", ["Nope"]))
    mutate("box x over 100", lambda r: r[0]["value"].__setitem__("x", 140.0))
    mutate("negative width", lambda r: r[0]["value"].__setitem__("width", -3.0))
    mutate("polygon point over 100", lambda r: r[-1]["value"]["points"].__setitem__(0, [150.0, 20.0]))
    return cases


def main() -> int:
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[3] / "shared"
    (HERE / "brush_reference.json").write_text(json.dumps(
        {"label_studio_sdk": sdk_version, "results": brush_reference(shared)}, indent=1) + "\n")
    config = LabelInterface((shared / "labelstudio" / "taco_sample.config.xml").read_text())
    prediction = json.loads((HERE / "prediction.json").read_text())
    verdicts = []
    for name, case in mutations(prediction):
        errors = config.validate_prediction(case, return_errors=True)
        verdicts.append({"case": name, "prediction": case, "valid": not errors, "sdk_errors": errors})
    (HERE / "verdicts.json").write_text(json.dumps(
        {"label_studio_sdk": sdk_version, "config": "shared/labelstudio/taco_sample.config.xml",
         "verdicts": verdicts}, indent=1) + "\n")
    for v in verdicts:
        print(f"{v['case']:28} valid={v['valid']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
