"""Region geometry: turned rectangles and polygon rasterisation."""

from __future__ import annotations

import math

import numpy as np

from garbtui.core.workspace.regions import polygon_mask, region_from_box, rotated_rect_corners


def test_rotation_turns_clockwise_around_top_left() -> None:
    corners = rotated_rect_corners(10, 20, 100, 50, 90)
    # Clockwise on screen (y down): the top edge now points straight down from (10, 20).
    expected = [(10, 20), (10, 120), (-40, 120), (-40, 20)]
    for got, want in zip(corners, expected, strict=True):
        assert math.isclose(got[0], want[0], abs_tol=1e-9) and math.isclose(got[1], want[1], abs_tol=1e-9)


def test_box_past_the_edge_is_clamped_and_flagged() -> None:
    region = region_from_box(90, 10, 20, 10, 0, 100, 100)
    assert region.bbox.x1 == 100 and region.clamped
    assert region.corners[1] == (110, 10)  # the turned corners keep the annotation as drawn


def test_polygon_mask_covers_pixel_area() -> None:
    mask = polygon_mask([(2, 2), (12, 2), (12, 7), (2, 7)], 20, 10)
    assert mask.sum() == 50
    assert mask[2, 2] and mask[6, 11] and not mask[7, 2] and not mask[2, 12]


def test_polygon_mask_offset() -> None:
    a = polygon_mask([(12, 12), (22, 12), (22, 17)], 30, 30)
    b = polygon_mask([(12, 12), (22, 12), (22, 17)], 20, 20, offset=(10, 10))
    assert a.any() and np.array_equal(a[10:, 10:], b)
