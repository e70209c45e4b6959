"""Per-pixel feature vectors for clustering: colour in Lab / RGB / HSV, optionally pixel position."""

from __future__ import annotations

from typing import cast

import cv2
import numpy as np
from numpy.typing import NDArray

COLOR_SPACES: tuple[str, ...] = ("lab", "rgb", "hsv")
# Position features are scaled so that weight 1.0 lets crossing the whole crop cost about as much as
# a large colour difference (100 units in these 0..255 colour scales).
POSITION_SCALE = 100.0


def color_features(rgb: NDArray[np.uint8], color_space: str) -> NDArray[np.float32]:
    """An H x W x 3 float32 array of colour coordinates, all channels on comparable 0..255 scales."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError("expected an H x W x 3 uint8 RGB image")
    if color_space == "lab":
        # uint8 Lab: L scaled to 0..255, a and b offset by 128; perceptually even enough for clustering.
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    if color_space == "rgb":
        return rgb.astype(np.float32)
    if color_space == "hsv":
        hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV_FULL).astype(np.float32)
        # Hue is an angle: place it on a circle of radius = saturation so red at 0 and 255 meet.
        angle = hsv[:, :, 0] * (2.0 * np.pi / 256.0)
        sat = hsv[:, :, 1] * 0.5
        out = np.empty_like(hsv)
        out[:, :, 0] = hsv[:, :, 2]
        out[:, :, 1] = 128.0 + sat * np.cos(angle)
        out[:, :, 2] = 128.0 + sat * np.sin(angle)
        return out
    raise ValueError(f"unknown colour space {color_space!r}; expected one of {', '.join(COLOR_SPACES)}")


def pixel_features(rgb: NDArray[np.uint8], color_space: str, position_weight: float = 0.0) -> NDArray[np.float32]:
    """An (H*W) x D float32 matrix: colour, plus x and y scaled by `position_weight` when it is > 0."""
    h, w = rgb.shape[:2]
    color = color_features(rgb, color_space).reshape(-1, 3)
    if position_weight <= 0.0:
        return np.ascontiguousarray(color)
    scale = POSITION_SCALE * float(position_weight)
    side = float(max(h, w, 1))
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    pos = np.stack([xs.ravel(), ys.ravel()], axis=1) * np.float32(scale / side)
    return np.ascontiguousarray(np.concatenate([color, pos], axis=1))


def color_codes(rgb: NDArray[np.uint8], color_space: str) -> NDArray[np.uint8] | None:
    """N x 3 uint8 colour codes equal to the colour features (Lab and RGB only), for the fast assignment."""
    if color_space == "lab":
        return cast("NDArray[np.uint8]", cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).reshape(-1, 3))
    if color_space == "rgb":
        return np.ascontiguousarray(rgb).reshape(-1, 3)
    return None
