"""The dataset browser (`garbtui open DATASET`): images with their labels, split and class filters, per-class
counts, the recipe of the image, `o` to open it as a scene in its workspace, and a snapshot."""

from __future__ import annotations

from pathlib import Path

import pytest

from garbtui.core.generate.recipe import ImageRecord, RunSettings, recipe_scene
from garbtui.core.generate.runner import generate_dataset
from garbtui.core.workspace.store import Workspace
from garbtui.tui.dataset_app import DatasetApp
from garbtui.tui.widgets.image_view import ImageView
from tests.functional.test_generate_cli import make_workspace
from tests.helpers.pilot import wait_for

SIZE = (140, 40)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    ws = make_workspace(root / "ws")
    settings = RunSettings(seed=7, size=(320, 240), per_image=(2, 4), val_fraction=0.25)
    generate_dataset(ws, root / "ds", 8, settings, workers=1)
    return root / "ds"


def _app(dataset: Path) -> DatasetApp:
    return DatasetApp(dataset, image_protocol="halfcell", theme="garb-dark")


async def _ready(pilot) -> None:  # noqa: ANN001
    app = pilot.app
    app.sub_title = "sample dataset"  # the temporary path differs on every run
    await wait_for(pilot, lambda: app.screen.query_one("#ds-view", ImageView).shown_key is not None)
    await pilot.pause()


async def test_filters_counts_and_recipe(dataset: Path) -> None:
    app = _app(dataset)
    async with app.run_test(size=SIZE) as pilot:
        await _ready(pilot)
        screen = app.screen
        index = app.index
        assert len(screen.shown) == 8 == len(index.rows)
        assert screen.query_one("#ds-filter-bar").render().plain.startswith("8 of 8 images")
        await pilot.press("s")  # train only
        assert {r.split for r in screen.shown} == {"train"} and len(screen.shown) == index.summary.images["train"]
        await pilot.press("s")  # val only
        assert {r.split for r in screen.shown} == {"val"} and len(screen.shown) == index.summary.images["val"]
        await pilot.press("x")
        assert len(screen.shown) == 8
        # Per-class counts are the summary's.
        counts = screen.query_one("#ds-counts").render().plain
        for name, c in index.summary.classes.items():
            assert f"{name[:24]:<24} {c.objects['train']:>6} {c.objects['val']:>6}" in counts
        # A class filter keeps exactly the images with an object of that class.
        label = next(name for name, c in index.summary.classes.items() if 0 < c.images < 8)
        await pilot.press("l")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ChoiceDialog")
        dialog = app.screen
        from textual.widgets import OptionList

        dialog.query_one(OptionList).highlighted = 1 + index.classes.index(label)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen)
        assert len(screen.shown) == index.summary.classes[label].images
        assert all(label in r.labels for r in screen.shown)
        # The info pane shows the image's objects and its recipe.
        row = screen.current_row()
        rec = ImageRecord.model_validate_json((dataset / "recipes" / f"{row.name}.json").read_bytes())
        info = screen.query_one("#ds-info").render().plain
        assert f"recipes/{row.name}.json: background {rec.recipe.background_id}" in info
        assert f"{len(rec.objects)} object(s)" in info
        assert all(p.crop_id in info for p in rec.recipe.placements)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "DatasetHelp")
        from textual.widgets import Static

        from garbtui.tui.screens.help import plain_text

        assert "o  Open scene" in plain_text(100, app.screen.query_one("#help-text", Static).content)
        await pilot.press("escape")


async def test_o_opens_the_recipe_as_a_scene_in_its_workspace(dataset: Path) -> None:
    app = _app(dataset)
    async with app.run_test(size=SIZE) as pilot:
        await _ready(pilot)
        await pilot.press("down")
        row = app.screen.current_row()
        await pilot.press("o")
        await wait_for(pilot, lambda: app.return_value is not None)
    ws_root, scene_id = app.return_value
    assert ws_root == dataset.parent / "ws" and scene_id == f"ds-{row.name}"
    ws = Workspace.open(ws_root)
    assert ws.load_scene(scene_id) == recipe_scene(row.record.recipe, scene_id)


async def test_a_folder_that_is_not_a_dataset_is_refused(tmp_path: Path) -> None:
    from garbtui.core.errors import GarbError

    with pytest.raises(GarbError, match="not a dataset folder"):
        DatasetApp(tmp_path)


def test_dataset_browser_snapshot(snap_compare, dataset: Path) -> None:  # noqa: ANN001
    async def run_before(pilot) -> None:  # noqa: ANN001
        await _ready(pilot)
        app = pilot.app
        await pilot.press("down", "down")  # 000002: two objects, outlined in their class colours
        await wait_for(pilot, lambda: app.screen.query_one("#ds-view", ImageView).shown_key[1].endswith("000002.jpg"))
        await pilot.pause()

    assert snap_compare(_app(dataset), terminal_size=SIZE, run_before=run_before)


async def test_the_workspace_app_opens_the_saved_scene_in_the_placement_screen(dataset: Path) -> None:
    from garbtui.tui.app import GarbApp
    from garbtui.tui.screens.placement import PlacementScreen

    ws = Workspace.open(dataset.parent / "ws")
    record = ImageRecord.model_validate_json((dataset / "recipes" / "000002.json").read_bytes())
    ws.save_scene(recipe_scene(record.recipe, "ds-000002"))
    app = GarbApp(ws.root, image_protocol="halfcell", open_scene="ds-000002")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, PlacementScreen) and app.screen.draft.scene_id is not None)
        screen = app.screen
        assert isinstance(screen, PlacementScreen)
        assert screen.draft.scene_id == "ds-000002" and not screen.draft.dirty
        assert screen.draft.background is not None and screen.draft.background.id == record.recipe.background_id
        assert screen.draft.placements == ws.load_scene("ds-000002").placements  # exact, not as the fields round them


async def test_a_scene_that_is_gone_is_said_and_the_placement_screen_stays_empty(dataset: Path) -> None:
    from garbtui.tui.app import GarbApp
    from garbtui.tui.screens.placement import PlacementScreen

    app = GarbApp(dataset.parent / "ws", image_protocol="halfcell", open_scene="no-such-scene")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: any("no-such-scene" in n.message for n in app._notifications))
        assert isinstance(app.screen, PlacementScreen) and app.screen.draft.scene_id is None
