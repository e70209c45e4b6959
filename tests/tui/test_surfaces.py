"""The surfaces view of the photos/backgrounds screen (regions toggled as ground, saved as seg.json) and the
add-background dialog's horizon warning, driven through Pilot."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from garbtui.core.scene.surfaces import GROUND_SURFACES, load_surfaces, surface_ids
from garbtui.core.workspace.store import Workspace
from garbtui.tui import GarbApp
from garbtui.tui.widgets.image_view import ImageView
from tests.conftest import PHOTOS
from tests.helpers.pilot import settled, wait_for

SIZE = (140, 40)
HIGHWAY = "udacity_adv_straight_lines1-35258e"


async def open_backgrounds(pilot, app: GarbApp, bg_id: str) -> None:  # noqa: ANN001
    from garbtui.tui.screens.images import ImagesScreen

    await pilot.press("i")
    await wait_for(pilot, lambda: isinstance(app.screen, ImagesScreen))
    await pilot.press("b")
    screen = app.screen
    await wait_for(pilot, lambda: screen.kind == "background")
    table = screen.table
    table.move_cursor(row=table.get_row_index(bg_id), animate=False)
    await wait_for(pilot, lambda: screen.current_id == bg_id)


async def test_regions_toggled_as_ground_are_saved_as_seg_json(sample_ws: Path) -> None:
    ws = Workspace.open(sample_ws)
    app = GarbApp(sample_ws)
    async with app.run_test(size=SIZE) as pilot:
        await open_backgrounds(pilot, app, HIGHWAY)
        screen = app.screen
        await pilot.press("s")  # nothing open yet: says so, writes nothing
        await settled(pilot)
        assert not (ws.background_dir(HIGHWAY) / "seg.json").exists()
        await pilot.press("g")
        await wait_for(pilot, lambda: screen.surfaces is not None)
        edit = screen.surfaces
        assert edit.source == "auto" and edit.choice.count == 8
        assert 0 not in edit.choice.ground  # region 1 is the top of the frame: sky, not ground
        before = set(edit.choice.ground)
        info = str(screen.query_one("#photo-info").render())
        assert "ground = regions" in info and "1-9 toggle" in info
        await pilot.press("1")
        await pilot.pause()
        assert edit.choice.ground == before | {0} and edit.dirty
        assert screen.has_unsaved_work() and HIGHWAY in screen.unsaved_work()  # the quit question names it
        await wait_for(pilot, lambda: screen.query_one("#photo-view", ImageView).shown_key is not None)
        await pilot.press("s")
        await wait_for(pilot, lambda: (ws.background_dir(HIGHWAY) / "seg.json").is_file())
        assert not screen.has_unsaved_work()
        seg = json.loads((ws.background_dir(HIGHWAY) / "seg.json").read_text())
        assert seg["source"]["backend"] == "hand" and seg["label_map"]["file"] == "seg.png"
        surfaces = load_surfaces(ws.background_dir(HIGHWAY), 1280, 720)
        assert surfaces is not None
        ground = np.isin(surfaces.labels, surface_ids(list(GROUND_SURFACES)))
        assert ground[edit.choice.regions == 0].all()  # the region toggled on is ground now
        await pilot.press("1", "s")  # and off again
        await wait_for(pilot, lambda: not edit.dirty)
        surfaces = load_surfaces(ws.background_dir(HIGHWAY), 1280, 720)
        assert surfaces is not None
        assert not np.isin(surfaces.labels, surface_ids(list(GROUND_SURFACES)))[edit.choice.regions == 0].any()
        await pilot.press("down")  # moving on closes the view
        await settled(pilot)
        assert screen.surfaces is None


async def test_add_background_dialog_says_when_the_horizon_is_not_trusted(sample_ws: Path) -> None:
    ws = Workspace.open(sample_ws)
    before = set(ws.background_ids())
    app = GarbApp(sample_ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("i")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ImagesScreen")
        await pilot.press("a")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "AddBackgroundDialog")
        dialog = app.screen
        dialog.query_one("#bg-path").value = str(PHOTOS / "road" / "cnilo_santiago_IMG_4.jpg")
        await pilot.press("enter")
        await wait_for(pilot, lambda: dialog.added is not None, timeout=30)
        text = str(dialog.query_one("#bg-result").render())
        assert "horizon not trusted" in text and "confidence 0.28" in text and "surfaces" in text
        assert app.screen is dialog  # stays open until the warning is read
        new_id = (set(ws.background_ids()) - before).pop()
        meta = ws.load_background_meta(new_id)
        assert meta.horizon_row is None and meta.horizon_suggested is not None
        await pilot.press("enter")  # Close
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ImagesScreen")
        screen = app.screen
        await wait_for(pilot, lambda: screen.current_id == new_id)
        assert "not trusted" in str(screen.query_one("#photo-info").render())
