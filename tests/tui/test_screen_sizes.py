"""Every screen at 80x24, 120x40 and 200x60 in both themes, pinned as SVG snapshots (pytest-textual-snapshot's
SVG format; update with `pytest tests/tui/test_screen_sizes.py --snapshot-update`, then look at them).

One app session per size and theme visits every screen, so 36 pictures cost six app start-ups.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_textual_snapshot import SVGImageExtension
from syrupy.assertion import SnapshotAssertion

from garbtui.tui import GarbApp
from garbtui.tui.widgets.image_view import ImageView
from tests.helpers.pilot import settled, wait_for
from tests.tui.conftest import DONE
from tests.tui.test_placement import FRONT_BG, open_placement, pick_background, pick_fragment, settle

SIZES = [(80, 24), (120, 40), (200, 60)]
THEMES = ["garb-dark", "garb-light"]


@pytest.fixture
def svg(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(SVGImageExtension)


async def _shown(pilot, view_id: str) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.screen.query_one(view_id, ImageView).shown_key is not None)
    await settled(pilot)


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_every_screen(placement_ws: Path, svg: SnapshotAssertion, size: tuple[int, int], theme: str) -> None:
    app = GarbApp(placement_ws, image_protocol="halfcell", theme=theme, remember_theme=False)
    shots: dict[str, str] = {}
    async with app.run_test(size=size) as pilot:
        app.sub_title = "sample workspace"  # the temporary path differs on every run
        await _shown(pilot, "#raw-view")
        shots["queue"] = app.export_screenshot()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "CleanupScreen")
        screen = app.screen
        await _shown(pilot, "#cl-raw")
        await pilot.press("c")
        await wait_for(pilot, lambda: screen.result is not None and screen.shown_generation == screen.generation)
        await settled(pilot)
        shots["cleanup"] = app.export_screenshot()
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ConfirmDialog")
        await pilot.press("y")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "QueueScreen")
        await pilot.press("i")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ImagesScreen")
        await pilot.press("down")  # a photo with its objects outlined
        await _shown(pilot, "#photo-view")
        shots["photos"] = app.export_screenshot()
        await pilot.press("b", "down")  # a road background with its horizon
        await _shown(pilot, "#photo-view")
        shots["backgrounds"] = app.export_screenshot()
        await pilot.press("escape", "question_mark")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "HelpScreen")
        await settled(pilot)
        shots["help"] = app.export_screenshot()
        await pilot.press("escape")
        placement = await open_placement(pilot, app)
        await pick_background(pilot, placement, FRONT_BG)
        for crop_id in DONE[:2]:
            await pick_fragment(pilot, placement, crop_id)
            await pilot.press("a")
        await settle(pilot, placement)
        await pilot.press("escape")  # out of the x field: a blinking text cursor would make the picture vary
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "pl-placements")
        await settled(pilot)
        shots["placement"] = app.export_screenshot()
    for name, picture in shots.items():
        assert picture == svg(name=name), name
