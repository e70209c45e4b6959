"""Honest labels: can an object's visible pixels be told from the ground around them, on the render?

score = max(colour, texture), measured between the object's visible pixels (1.5 px in from the outline)
and a ring 0.25-0.6 object sizes out (past its contact shadow):
- colour: distance of the mean L*a*b* inside from the ring's, in units of the ring's own spread
  (|mean_in - mean_ring| / (sd_ring + 2));
- texture: |log| of the ratio of fine contrast (L minus its 2 px blur) inside and in the ring.
On the realism bench's photos a threshold of 0.30 kept every real litter object, dropped 1 % of pasted
litter and a third of "background cut-outs" (the shape of a fragment cut from the same ground: what a
cleaned crop that held only asphalt becomes). Below it an object is dropped from the labels with a note.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from numpy.typing import NDArray

from garbtui.core.workspace.arrays import as_f32

RING_IN = 0.25  # object sizes (sqrt of its visible area)
RING_OUT = 0.6


def visibility(image: NDArray[np.uint8], x0: int, y0: int, mask: NDArray[np.bool_]) -> float:
    """The score of the object whose visible mask is `mask` with its top-left corner at (x0, y0) in `image`
    (RGB). Objects too small to judge (under 9 px) or with nothing to compare against (a ring under 10 px,
    e.g. one filling the image) score 1: they are kept."""
    H, W = image.shape[:2]
    area = int(mask.sum())
    if area < 9:
        return 1.0
    s = math.sqrt(area)
    R = int(math.ceil(max(4.0, RING_OUT * s)))
    wx0, wy0 = max(0, x0 - R), max(0, y0 - R)
    wx1, wy1 = min(W, x0 + mask.shape[1] + R), min(H, y0 + mask.shape[0] + R)
    win = image[wy0:wy1, wx0:wx1]
    m = np.zeros(win.shape[:2], np.uint8)
    mh, mw = min(mask.shape[0], wy1 - y0), min(mask.shape[1], wx1 - x0)
    m[y0 - wy0:y0 - wy0 + mh, x0 - wx0:x0 - wx0 + mw] = mask[:mh, :mw]
    d_out = cv2.distanceTransform(1 - m, cv2.DIST_L2, 3)
    d_in = cv2.distanceTransform(m, cv2.DIST_L2, 3)
    ring = (d_out > max(1.5, RING_IN * s)) & (d_out <= R)
    inside = d_in > 1.5
    if inside.sum() < 5:
        inside = m > 0
    if ring.sum() < 10:
        return 1.0
    lab = as_f32(cv2.cvtColor(win.astype(np.float32) * np.float32(1.0 / 255.0), cv2.COLOR_RGB2Lab))
    lab_ring = lab[ring]
    mu_in, mu_ring = lab[inside].mean(axis=0), lab_ring.mean(axis=0)
    sd_ring = float(np.sqrt(lab_ring.var(axis=0).sum()))
    colour = float(np.linalg.norm(mu_in - mu_ring) / (sd_ring + 2.0))
    L = lab[:, :, 0]
    hp = np.abs(L - as_f32(cv2.GaussianBlur(L, (0, 0), 2.0)))
    texture = abs(math.log((float(hp[inside].mean()) + 0.3) / (float(hp[ring].mean()) + 0.3)))
    return max(colour, texture)
