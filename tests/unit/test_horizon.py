"""Horizon estimate from lane-line vanishing points, against rows a person marked on the highway photos."""

from __future__ import annotations

import numpy as np
import pytest

from garbtui.core.scene.horizon import estimate_horizon
from garbtui.core.workspace.imageio import read_rgb
from tests.conftest import PHOTOS

# Marked by eye on zoomed copies (rows where the lane lines and the road edge meet): image height in brackets.
MARKS = {
    "udacity_adv_straight_lines1.jpg": 423.0,  # (720) straight highway, yellow + dashed white lines
    "udacity_adv_test5.jpg": 410.0,  # (720) curving road under trees; lines meet near the far bend
    "udacity_p1_solidWhiteRight.jpg": 305.0,  # (540)
    "udacity_p1_solidYellowCurve2.jpg": 315.0,  # (540)
}
TOLERANCE = 0.03  # of the image height


@pytest.mark.parametrize("name", sorted(MARKS))
def test_estimate_matches_marked_horizon(name: str) -> None:
    rgb = read_rgb(PHOTOS / "clean" / name)
    est = estimate_horizon(rgb)
    assert est.row is not None, f"{name}: no estimate"
    height = rgb.shape[0]
    assert abs(est.row - MARKS[name]) <= TOLERANCE * height, f"{name}: {est.row:.1f} vs marked {MARKS[name]}"
    assert est.confidence > 0.3
    assert len(est.lines) >= 4
    assert est.vanishing_point is not None and 0 <= est.vanishing_point[0] <= rgb.shape[1]


def test_estimate_is_resolution_independent() -> None:
    rgb = read_rgb(PHOTOS / "clean" / "udacity_adv_straight_lines1.jpg")
    big = np.repeat(np.repeat(rgb, 2, axis=0), 2, axis=1)
    a, b = estimate_horizon(rgb), estimate_horizon(big)
    assert a.row is not None and b.row is not None
    assert abs(b.row / 2 - a.row) <= 0.02 * rgb.shape[0]


def test_no_lines_no_estimate() -> None:
    flat = np.full((300, 400, 3), 128, np.uint8)
    assert estimate_horizon(flat).row is None
    grass = read_rgb(PHOTOS / "clean" / "skimage_grass.png")  # texture, no lines: nothing may be invented
    est = estimate_horizon(grass)
    assert est.row is None or est.confidence < 0.3
