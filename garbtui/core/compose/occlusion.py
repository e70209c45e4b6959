"""Occlusion bookkeeping: each pixel belongs to the topmost object that covers it; hidden objects are dropped.

Labels follow the COCO convention of non-overlapping visible masks: where a later fragment has any
visible alpha (> 0 after blending), the pixel is its, and is removed from every earlier object's
mask. An earlier object then keeps a visible fraction (visible pixels / its pixels inside the image)
and is dropped from the labels when the hidden part exceeds the scene's `occlusion_drop`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass
class Layer:
    """One pasted object's mask in image pixels, kept as a window (offset + local mask) to stay small."""

    x0: int
    y0: int
    mask: NDArray[np.bool_]  # local to the window
    own_pixels: int  # pixels inside the image before any occlusion
    alpha: NDArray[np.uint8] | None = None  # the alpha it was pasted with (same window), before occlusion

    @property
    def x1(self) -> int:
        return self.x0 + int(self.mask.shape[1])

    @property
    def y1(self) -> int:
        return self.y0 + int(self.mask.shape[0])


def occlude(earlier: list[Layer], top: Layer) -> None:
    """Remove `top`'s pixels from every earlier layer (in place)."""
    for layer in earlier:
        ix0, iy0 = max(layer.x0, top.x0), max(layer.y0, top.y0)
        ix1, iy1 = min(layer.x1, top.x1), min(layer.y1, top.y1)
        if ix1 <= ix0 or iy1 <= iy0:
            continue
        cover = top.mask[iy0 - top.y0:iy1 - top.y0, ix0 - top.x0:ix1 - top.x0]
        layer.mask[iy0 - layer.y0:iy1 - layer.y0, ix0 - layer.x0:ix1 - layer.x0] &= ~cover


def visible_fraction(layer: Layer) -> float:
    if layer.own_pixels <= 0:
        return 0.0
    return float(layer.mask.sum()) / float(layer.own_pixels)


def should_drop(fraction_visible: float, occlusion_drop: float, visible_pixels: int) -> bool:
    """Dropped when nothing is visible, or when the hidden fraction exceeds the scene's threshold."""
    return visible_pixels == 0 or (1.0 - fraction_visible) > occlusion_drop
