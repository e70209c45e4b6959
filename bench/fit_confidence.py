"""Fit the cutout confidence (core/cleanup/confidence.py) on the tune split of bench/mask_quality.py's rows.

Label: good = IoU >= 0.6 against the polygon (background-only boxes are always bad). A class-balanced
logistic regression on the standardised evidence, box-only and outline cutouts of the TUNE split
together; the suspect threshold is the highest score that still flags >= 80% of the bad tune cutouts.
Prints the constants to paste into confidence.py and the validation figures (never used to fit).

    nice python bench/mask_quality.py --rows bench/out/rows.json && python bench/fit_confidence.py bench/out/rows.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from garbtui.core.cleanup.confidence import NAMES  # noqa: E402 - imported after the sys.path line above

BAD_IOU = 0.6
RECALL = 0.8


def main() -> int:
    data = json.loads(Path(sys.argv[1] if len(sys.argv) > 1 else REPO / "bench/out/rows.json").read_text())
    rows = [r for mode in data.values() for r in mode]
    x = {s: np.array([[r["evidence"][n] for n in NAMES] for r in rows if r["split"] == s]) for s in ("tune", "val")}
    bad = {s: np.array([r["iou"] < BAD_IOU or r["key"].startswith("bg") for r in rows if r["split"] == s])
           for s in ("tune", "val")}
    scaler = StandardScaler().fit(x["tune"])
    lr = LogisticRegression(C=0.5, max_iter=5000, class_weight="balanced").fit(scaler.transform(x["tune"]), ~bad["tune"])
    score = {s: lr.predict_proba(scaler.transform(x[s]))[:, 1] for s in x}
    cand = np.sort(score["tune"][bad["tune"]])
    thr = float(cand[int(np.ceil(RECALL * cand.size)) - 1] + 1e-4)
    r4 = lambda v: tuple(round(float(a), 4) for a in v)  # noqa: E731 - a local formatter
    print(f"MEAN = {r4(scaler.mean_)}\nSCALE = {r4(scaler.scale_)}\nCOEF = {r4(lr.coef_[0])}")
    print(f"INTERCEPT = {float(lr.intercept_[0]):.4f}\nSUSPECT_BELOW = {thr:.4f}")
    for s in ("tune", "val"):
        flag = score[s] < thr
        tp, fp = int((flag & bad[s]).sum()), int((flag & ~bad[s]).sum())
        print(f"{s}: {len(flag)} cutouts, {int(bad[s].sum())} bad, flagged {int(flag.sum())}: recall {tp}/{int(bad[s].sum())}"
              f" precision {tp}/{tp + fp}; AUC {roc_auc_score(~bad[s], score[s]):.3f}")
    aucs = {n: round(float(roc_auc_score(~bad["tune"], x["tune"][:, i])), 2) for i, n in enumerate(NAMES)}
    print("tune AUC per evidence:", aucs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
