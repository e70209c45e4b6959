"""How far a cutout can be trusted: one score from evidence in the crop, its prior and the cutout, with reasons.

Evidence (numpy + OpenCV, at most 128 px on the long side, ~2 ms):
  contrast    Bhattacharyya distance of the Lab histograms of the kept pixels and of the margin
              (0: the cutout has the colours of its surroundings)
  delta_e     Lab distance between the mean colours of the kept pixels and of the margin
  edge        log mean colour gradient on the cutout's outline over the margin's (an object has an edge)
  certainty   how sure the cluster evidence is, inside the prior: mean |f - 0.5| * 2 of each pixel's
              cluster object fraction (auto_select.object_fraction)
  agreement   IoU of the final cutout and the cutout the clusters alone give (two methods that agree)
  fill        kept share of the prior (a tight box is filled 0.4-0.8; an outline about 1)
  solidity    kept area over its convex hull's (a shredded cutout is low)
  parts       log of the number of connected parts
  sides       how many sides of the prior's box the cutout reaches (within 3%); a tight box is touched on 4
  small       log of the crop's long side in pixels
  precise     1 when the prior is a drawn outline (polygon, brush), 0 for a box
score = sigmoid(w . standardised evidence + b). The weights are a logistic regression fitted by
bench/fit_confidence.py on the tune split of the development set (label: IoU >= 0.6 against the TACO
polygon; background-only boxes are bad), box-only and outline cutouts together; SUSPECT_BELOW is the
score under which >= 80% of the bad tune cutouts fall. Figures in the README (cleanup section).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np
from numpy.typing import NDArray

from garbtui.core.workspace.models import CutoutQuality

NAMES: tuple[str, ...] = (
    "contrast", "delta_e", "edge", "certainty", "agreement", "fill", "solidity", "parts", "sides", "small", "precise",
)

# Fitted by bench/fit_confidence.py (tune split only); a dozen numbers, so kept here rather than as a data file.
MEAN = (0.7193, 70.4339, 1.2653, 0.7169, 0.764, 0.8076, 0.8872, 0.0648, 3.7103, 4.702, 0.4795)
SCALE = (0.1981, 40.3425, 0.6665, 0.2224, 0.1505, 0.2266, 0.0951, 0.3056, 0.5779, 1.3066, 0.4996)
COEF = (0.6203, 0.2084, -0.3464, 0.9943, 0.0737, -0.2703, 0.519, -0.3957, 0.0988, 1.2408, 1.06)
INTERCEPT = 1.3945
# Refitted after the one-iteration GrabCut and drop_thin_parts. Tune: 44 of 54 bad cutouts flagged (81%),
# 35 of 336 good ones too; validation (never fitted on): 12 of 14 bad (8 of 8 background-only boxes),
# 6 of 68 good; AUC 0.92 tune, 0.93 validation.
SUSPECT_BELOW = 0.3756

REASONS: dict[str, str] = {
    "contrast": "colours hardly differ from the surroundings",
    "delta_e": "colour close to the surroundings",
    "edge": "no clear edge around the cutout",
    "certainty": "colours found both inside and outside the box",
    "agreement": "clusters and refinement disagree",
    "fill": "fills an unusual share of its box",
    "solidity": "shredded or hollow shape",
    "parts": "in several pieces",
    "sides": "does not reach every side of its box",
    "small": "very small crop",
    "precise": "drawn outline",
}
EVIDENCE_SIDE = 128  # evidence is measured at most this many pixels on the long side


@dataclass(frozen=True)
class Model:
    """A fitted logistic score: standardisation, weights, bias and the suspect threshold."""

    mean: tuple[float, ...] = MEAN
    scale: tuple[float, ...] = SCALE
    coef: tuple[float, ...] = COEF
    intercept: float = INTERCEPT
    suspect_below: float = SUSPECT_BELOW


def _hist(lab: NDArray[np.uint8], mask: NDArray[np.bool_], bins: int = 8) -> NDArray[np.float64]:
    q = (lab[mask].astype(np.int32) * bins) >> 8
    h = np.bincount((q[:, 0] * bins + q[:, 1]) * bins + q[:, 2], minlength=bins**3).astype(np.float64)
    return h / max(float(h.sum()), 1.0)


def _small(m: NDArray[np.bool_], size: tuple[int, int]) -> NDArray[np.bool_]:
    if (m.shape[1], m.shape[0]) == size:
        return m
    out: NDArray[np.bool_] = cv2.resize(m.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
    return out


def evidence(
    rgb: NDArray[np.uint8], prior: NDArray[np.bool_], margin: NDArray[np.bool_], mask: NDArray[np.bool_], *,
    certainty: float, agreement: float, precise: bool,
) -> dict[str, float]:
    """The evidence numbers (NAMES) for one cutout; `certainty` and `agreement` come from the session."""
    h, w = prior.shape
    s = min(1.0, EVIDENCE_SIDE / max(h, w))
    size = (max(1, round(w * s)), max(1, round(h * s)))
    small = cast("NDArray[np.uint8]", cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)) if s < 1 else rgb
    m, box = _small(mask, size), _small(prior, size)
    marg = _small(margin, size) & ~m
    if not marg.any():
        marg = ~box & ~m
    lab = cast("NDArray[np.uint8]", cv2.cvtColor(np.ascontiguousarray(small), cv2.COLOR_RGB2LAB))
    ev: dict[str, float] = {"contrast": 0.0, "delta_e": 0.0}
    if m.any() and marg.any():
        ho, hb = _hist(lab, m), _hist(lab, marg)
        ev["contrast"] = float(np.sqrt(max(0.0, 1.0 - float(np.sqrt(ho * hb).sum()))))
        ev["delta_e"] = float(np.linalg.norm(lab[m].mean(0) - lab[marg].mean(0)))
    labf = lab.astype(np.float32)
    grad = np.abs(cv2.Sobel(labf, cv2.CV_32F, 1, 0)).sum(2) + np.abs(cv2.Sobel(labf, cv2.CV_32F, 0, 1)).sum(2)
    ring = np.ones((3, 3), np.uint8)
    outline = m & ~cv2.erode(m.astype(np.uint8), ring).astype(bool)
    inner_margin = marg & cv2.erode(marg.astype(np.uint8), ring).astype(bool)
    ref = float(grad[inner_margin].mean()) if inner_margin.any() else float(grad.mean())
    on_edge = float(grad[outline].mean()) if outline.any() else 0.0
    ev["edge"] = float(np.log(on_edge + 1.0) - np.log(ref + 1.0))
    ev["certainty"] = float(certainty)
    ev["agreement"] = float(agreement)
    ev["fill"] = float(m.sum() / max(int(box.sum()), 1))
    ev["solidity"] = ev["parts"] = ev["sides"] = 0.0
    if m.any():
        contours, _ = cv2.findContours(m.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        hull = cv2.convexHull(np.concatenate(contours))
        ev["solidity"] = float(m.sum() / max(cv2.contourArea(hull) + 0.5 * cv2.arcLength(hull, True) + 1.0, 1.0))
        ev["parts"] = float(np.log(len(contours)))
        ys, xs = np.nonzero(box if box.any() else np.ones_like(box))
        bx0, bx1, by0, by1 = xs.min(), xs.max(), ys.min(), ys.max()
        my, mx = np.nonzero(m)
        tx, ty = max(1.0, 0.03 * (bx1 - bx0 + 1)), max(1.0, 0.03 * (by1 - by0 + 1))
        ev["sides"] = float(
            int(mx.min() <= bx0 + tx) + int(mx.max() >= bx1 - tx) + int(my.min() <= by0 + ty) + int(my.max() >= by1 - ty)
        )
    ev["small"] = float(np.log(max(h, w)))
    ev["precise"] = 1.0 if precise else 0.0
    return ev


def _contributions(ev: dict[str, float], model: Model) -> NDArray[np.float64]:
    x = (np.array([ev[n] for n in NAMES], np.float64) - np.array(model.mean)) / np.array(model.scale)
    out: NDArray[np.float64] = x * np.array(model.coef)
    return out


def score(ev: dict[str, float], model: Model | None = None) -> float:
    """The confidence 0..1 for an evidence dict."""
    model = model or Model()
    z = float(_contributions(ev, model).sum()) + model.intercept
    return float(1.0 / (1.0 + np.exp(-z)))


def reasons(ev: dict[str, float], model: Model | None = None, top: int = 2) -> list[str]:
    """The evidence that pulled the score down most, as short phrases (at most `top`)."""
    model = model or Model()
    contrib = _contributions(ev, model)
    order = np.argsort(contrib)
    return [REASONS[NAMES[i]] for i in order[:top] if contrib[i] < 0 and NAMES[i] != "precise"]


def assess(ev: dict[str, float], model: Model | None = None, curated: bool = False) -> CutoutQuality:
    """A CutoutQuality for an evidence dict (reasons only for a suspect one)."""
    model = model or Model()
    value = min(1.0, max(0.0, score(ev, model)))
    suspect = value < model.suspect_below
    return CutoutQuality(score=round(value, 4), suspect=suspect, reasons=reasons(ev, model) if suspect else [],
                         curated=curated)
