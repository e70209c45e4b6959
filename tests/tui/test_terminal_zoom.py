"""Placement preview: `z` zooms to the selected object at 1:1 or larger; typed scales are bounded."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from garbtui.core.workspace.store import Workspace
from garbtui.tui import GarbApp
from garbtui.tui.data.scene_draft import scale_problem
from garbtui.tui.widgets.image_view import ImageView, RenderSpec
from garbtui.tui.widgets.placement_preview import box_pixels, zoom_window
from tests.tui.test_placement import (
    SIZE,
    place_first_fragment,
    settle,
    type_into,
)


def test_zoom_window_is_one_to_one_or_larger() -> None:
    # A 20x30 px object in a 1920x1080 render, a 400x300 px box: enlarged 6x (whole factor), centred.
    (x0, y0, x1, y1), factor = zoom_window((1920, 1080), (1000, 800, 1020, 830), (400, 300))
    assert factor >= 1 and (x1 - x0) * factor <= 400 and (y1 - y0) * factor <= 300
    assert x0 <= 1000 and x1 >= 1020 and y0 <= 800 and y1 >= 830  # the object is inside
    # A big object: 1:1, never shrunk (cut to the box instead).
    (x0, y0, x1, y1), factor = zoom_window((1920, 1080), (100, 100, 900, 700), (400, 300))
    assert factor == 1 and (x1 - x0, y1 - y0) == (400, 300)
    # Near the edge: the window stays inside the picture.
    (x0, y0, x1, y1), _ = zoom_window((640, 480), (630, 470, 640, 480), (200, 100))
    assert 0 <= x0 < x1 <= 640 and 0 <= y0 < y1 <= 480


def test_box_pixels_per_protocol() -> None:
    assert box_pixels(RenderSpec(80, 40, "halfcell", (10, 20))) == (80, 80)
    assert box_pixels(RenderSpec(80, 40, "kitty", (10, 20))) == (800, 800)
    assert box_pixels(RenderSpec(80, 40, "sixel", (10, 20), sixel_max=(640, 480))) == (640, 480)


def test_scale_bound_message() -> None:
    assert scale_problem(0.5, (191, 194), (960, 540)) is None
    assert scale_problem("auto", (191, 194), (960, 540)) is None
    message = scale_problem(50, (191, 194), (960, 540))
    assert message is not None and "at most" in message and "9550x9700" in message


async def test_z_zooms_to_the_selected_object_and_back(placement_ws: Path) -> None:
    app = GarbApp(placement_ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await place_first_fragment(pilot, app)
        view = screen.query_one("#pl-view", ImageView)
        normal_factor = screen.preview.result.factor
        assert normal_factor < 1  # the whole 960x540 photo shrunk into the box
        obj = screen.preview.result.objects[0]
        await pilot.press("z")
        await settle(pilot, screen)
        assert view.zoom and screen.preview.result.factor == 1.0  # rendered at full resolution
        frame_pixels = view.query_one("_TextFrame").frame.pixels  # half-cell pixels shown
        x0, y0, x1, y1 = obj.bbox
        object_w = (x1 - x0) / normal_factor
        # At least one shown pixel per photo pixel: the object spans at least its own width in pixels.
        assert frame_pixels.shape[1] >= min(object_w, box_pixels(view.spec)[0] - 2)
        await pilot.press("z")
        await settle(pilot, screen)
        assert not view.zoom and screen.preview.result.factor == normal_factor


async def test_huge_typed_scale_is_refused_quickly_with_a_reason(placement_ws: Path) -> None:
    app = GarbApp(placement_ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await place_first_fragment(pilot, app)
        started = time.monotonic()
        await type_into(pilot, screen, "scale", "5")  # typing 0.5 as 50: "5" is still a sensible scale
        await settle(pilot, screen)
        generation = screen.preview.generation
        await pilot.press("0")
        await pilot.pause(0.2)
        error = str(screen.query_one("#pf-error").render())
        assert "at most" in error and "scale" in error
        assert screen.draft.placements[0].scale == 5 and screen.preview.generation == generation  # 50 is never rendered
        assert time.monotonic() - started < 5
        await type_into(pilot, screen, "scale", "2")
        await settle(pilot, screen)
        assert screen.draft.placements[0].scale == 2
        Workspace.open(placement_ws)  # the workspace is intact
        assert np.isfinite(screen.preview.result.factor)
