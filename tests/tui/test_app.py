"""The app driven by keys with Pilot on a copy of the sample workspace: every screen, saving, filters, themes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from garbtui.core.workspace.store import Workspace
from garbtui.tui import GarbApp
from garbtui.tui.data.config import config_path
from garbtui.tui.widgets.crop_list import CropList
from garbtui.tui.widgets.image_view import ImageView
from tests.helpers.pilot import settled, wait_for

SIZE = (160, 48)


def table_ids(app: GarbApp) -> list[str]:
    return app.screen.query_one(CropList).ids


async def open_cleanup(pilot, app: GarbApp) -> None:
    from garbtui.tui.screens.cleanup import CleanupScreen

    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, CleanupScreen))


async def settle(pilot, app: GarbApp) -> None:
    """Wait until the cleanup screen shows the result of its newest request."""
    screen = app.screen
    await wait_for(pilot, lambda: screen.result is not None and screen.shown_generation == screen.generation)


async def test_queue_lists_pending_crops_with_preview(sample_ws: Path) -> None:
    ws = Workspace.open(sample_ws)
    app = GarbApp(sample_ws)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one("#raw-view", ImageView).shown_key is not None)
        ids = table_ids(app)
        assert ids == ws.pending_crop_ids()
        crop_list = app.screen.query_one(CropList)
        first = ws.load_crop_meta(ids[0])
        assert crop_list.rows[0].label == first.label and crop_list.rows[0].scene == first.scene
        line = crop_list.render_line(0).text
        assert first.label in line and first.scene in line and "pending" in line
        await pilot.press("down")
        await wait_for(pilot, lambda: app.screen.query_one("#raw-view", ImageView).shown_key[1] == ids[1])


async def test_clean_toggle_save_writes_proc_and_recipe(sample_ws: Path) -> None:
    ws = Workspace.open(sample_ws)
    app = GarbApp(sample_ws)
    async with app.run_test(size=SIZE) as pilot:
        crop_id = table_ids(app)[0]
        await open_cleanup(pilot, app)
        screen = app.screen
        await pilot.press("c")
        await settle(pilot, app)
        auto = screen.result
        assert auto.recipe.auto and auto.keep
        session = screen._sessions[crop_id]
        runs = session.kmeans_runs
        toggled = auto.keep[0]
        await pilot.press(str(toggled + 1))
        await settle(pilot, app)
        # The key acts on the automatic cutout: the recipe stays automatic plus keys, the cutout only shrinks.
        assert toggled not in screen.result.keep and screen.result.recipe.auto and not screen.result.automatic
        assert not (screen.result.mask & ~auto.mask).any()
        assert session.kmeans_runs == runs  # toggling a cluster never re-runs k-means
        legend = str(screen.query_one("#legend").render())
        assert f" {toggled + 1} " in legend and "out" in legend
        assert "auto + keys" in str(screen.query_one("#recipe-bar").render())
        await pilot.press("s")
        await wait_for(pilot, lambda: ws.proc_path(crop_id).is_file())
        await wait_for(pilot, lambda: ws.load_crop_meta(crop_id).cleanup is not None)
        saved = ws.load_crop_meta(crop_id).cleanup
        assert saved == screen.result.recipe
        assert saved.keep == screen.result.keep and saved.auto is True
        quality = ws.load_crop_meta(crop_id).quality
        assert quality is not None and quality.curated and quality.score == screen.result.quality.score
        meta_json = json.loads((ws.crop_dir(crop_id) / "meta.json").read_text())
        assert meta_json["cleanup"]["keep"] == screen.result.keep
        assert app.queue.rows[crop_id].status == "done"
        # The header says what is on disk now, not what it was when the crop was opened.
        await wait_for(pilot, lambda: str(screen.query_one("#cleanup-title").render()).endswith("· done"))
        await pilot.press("escape")
        await wait_for(pilot, lambda: crop_id not in table_ids(app))  # the pending list no longer shows it


async def test_recipe_keys_undo_and_next(sample_ws: Path) -> None:
    app = GarbApp(sample_ws)
    async with app.run_test(size=SIZE) as pilot:
        ids = table_ids(app)
        await open_cleanup(pilot, app)
        screen = app.screen
        await pilot.press("c")
        await settle(pilot, app)
        k0, refine0, feather0 = screen.recipe.k, screen.recipe.refine, screen.recipe.feather
        await pilot.press("plus")
        await settle(pilot, app)
        assert screen.result.k == k0 + 1
        await pilot.press("minus", "minus")
        await settle(pilot, app)
        assert screen.result.k == k0 - 1
        await pilot.press("r")
        await settle(pilot, app)
        assert screen.result.recipe.refine is (not refine0)
        await pilot.press("f")
        await settle(pilot, app)
        assert screen.result.recipe.feather != feather0
        for _ in range(5):  # +, -, -, r, f
            await pilot.press("u")
        await settle(pilot, app)
        assert (screen.result.k, screen.result.recipe.refine, screen.result.recipe.feather) == (k0, refine0, feather0)
        await pilot.press("n")  # the cutout is not saved: moving on asks first
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ConfirmDialog")
        await pilot.press("y")
        await wait_for(pilot, lambda: screen.crop_id == ids[1])
        await pilot.press("N", "N")  # nothing cleaned on this crop yet: no question
        await wait_for(pilot, lambda: screen.crop_id == ids[-1])


async def test_stale_result_never_overwrites_newer(sample_ws: Path) -> None:
    app = GarbApp(sample_ws)
    async with app.run_test(size=SIZE) as pilot:
        await open_cleanup(pilot, app)
        screen = app.screen
        # A burst of keys: only the last request's result may end up on screen.
        await pilot.press("c", "plus", "plus", "minus", "plus", "r")
        await settle(pilot, app)
        await settled(pilot)  # nothing older may arrive after it
        assert screen.result.recipe.k == screen.recipe.k
        assert screen.result.recipe.refine == screen.recipe.refine
        assert screen.shown_generation == screen.generation


async def test_enter_shows_the_automatic_cutout_at_once(sample_ws: Path) -> None:
    """No `c` needed: opening a crop computes the automatic cutout in the worker; a done crop keeps its proc.png."""
    ws = Workspace.open(sample_ws)
    app = GarbApp(sample_ws)
    async with app.run_test(size=SIZE) as pilot:
        crop_id = table_ids(app)[0]
        await open_cleanup(pilot, app)
        screen = app.screen
        await settled(pilot)
        assert screen.result is not None and screen.result.automatic and screen.result.quality is not None
        assert not ws.proc_path(crop_id).exists()  # shown, not saved
        assert not screen.has_unsaved_work()  # nothing of the user's to lose
        legend = str(screen.query_one("#legend").render())
        assert all(f" {i + 1} " in legend for i in range(screen.result.k))  # every number listed


async def test_status_label_and_scene_filters(sample_ws: Path) -> None:
    ws = Workspace.open(sample_ws)
    ids = ws.crop_ids()
    done_id = ids[0]
    from garbtui.core.cleanup import CleanupSession

    result = CleanupSession.from_workspace(ws, done_id).run()
    ws.save_proc(done_id, result.rgba, result.recipe)
    metas = {i: ws.load_crop_meta(i) for i in ids}
    app = GarbApp(sample_ws)
    async with app.run_test(size=SIZE) as pilot:
        assert done_id not in table_ids(app)
        await pilot.press("f")  # done
        assert table_ids(app) == [done_id]
        await pilot.press("f")  # all
        assert sorted(table_ids(app)) == ids and table_ids(app)[-1] == done_id  # pending first
        await pilot.press("l")
        labels = app.queue.labels()
        await pilot.press("down", "enter")  # first real label (most frequent)
        want = labels[0][0]
        await pilot.pause()
        assert table_ids(app) and all(metas[i].label == want for i in table_ids(app))
        assert len(table_ids(app)) == labels[0][1]
        await pilot.press("x")
        await pilot.press("g")
        await pilot.pause()
        scenes = app.queue.scenes()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert all(metas[i].scene == scenes[0][0] for i in table_ids(app))
        assert app.screen.filter.scene == scenes[0][0] and app.screen.filter.status == "pending"


async def test_broken_crop_is_listed_with_its_reason(sample_ws: Path) -> None:
    ws = Workspace.open(sample_ws)
    broken = ws.crop_ids()[1]
    os.remove(ws.raw_path(broken))
    app = GarbApp(sample_ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f", "f")  # all
        await pilot.pause()
        crop_list = app.screen.query_one(CropList)
        await wait_for(pilot, lambda: app.screen.metas_done)
        assert table_ids(app)[-1] == broken
        await pilot.press("end")
        assert "raw.png is missing" in crop_list.render_line(crop_list.cursor - int(crop_list.scroll_offset.y)).text
        assert "raw.png is missing" in str(app.screen.query_one("#crop-info").render())
        await pilot.press("enter")
        await settled(pilot)
        assert app.screen.__class__.__name__ == "QueueScreen"  # a broken crop does not open


async def test_theme_switch_from_palette_is_remembered(sample_ws: Path) -> None:
    app = GarbApp(sample_ws)
    async with app.run_test(size=SIZE) as pilot:
        assert app.theme == "garb-dark"
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Theme: garb-light")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.theme == "garb-light")
        await pilot.pause()
    assert json.loads(config_path().read_text())["theme"] == "garb-light"
    again = GarbApp(sample_ws)
    async with again.run_test(size=SIZE) as pilot:
        assert again.theme == "garb-light"
        again.theme = "nord"  # a Textual built-in
        await pilot.pause()
    assert json.loads(config_path().read_text())["theme"] == "nord"


async def test_help_lists_every_key(sample_ws: Path) -> None:
    from garbtui.tui.screens.cleanup import CleanupScreen
    from garbtui.tui.screens.help import HelpScreen, key_name, plain_text
    from garbtui.tui.screens.images import ImagesScreen
    from garbtui.tui.screens.queue import QueueScreen

    app = GarbApp(sample_ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = plain_text(120)
        for screen in (QueueScreen, CleanupScreen, ImagesScreen):
            for binding in screen.BINDINGS:
                if binding.id and binding.id.startswith("toggle-"):
                    continue  # 2-9 are listed as "1-9"
                assert binding.description in text and key_name(binding) in text, binding
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, QueueScreen))


async def test_palette_lists_screen_actions(sample_ws: Path) -> None:
    from garbtui.tui.screens.cleanup import CleanupScreen

    app = GarbApp(sample_ws)
    async with app.run_test(size=SIZE) as pilot:
        await open_cleanup(pilot, app)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for binding in CleanupScreen.BINDINGS:
            assert binding.description in titles
        assert "Theme: garb-light" in titles and "Theme: nord" in titles


async def test_images_screen_scene_horizon_and_boxes(sample_ws: Path) -> None:
    from garbtui.tui.screens.images import ImagesScreen

    ws = Workspace.open(sample_ws)
    app = GarbApp(sample_ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, ImagesScreen))
        screen = app.screen
        image_id = ws.image_ids()[0]
        assert screen.current_id == image_id
        assert screen.boxes()[image_id]  # the photo's annotated objects are known (and drawn)
        await wait_for(pilot, lambda: screen.query_one("#photo-view", ImageView).shown_key is not None)
        before = ws.load_image_meta(image_id).scene
        await pilot.press("k")
        await pilot.pause()
        assert ws.load_image_meta(image_id).scene != before
        await pilot.press("h")
        await pilot.pause()
        await pilot.press(*"512", "enter")
        await wait_for(pilot, lambda: ws.load_image_meta(image_id).horizon_row == 512)
        await pilot.press("right_square_bracket")
        await pilot.pause()
        meta = ws.load_image_meta(image_id)
        assert meta.horizon_row == 512 + round(0.01 * meta.height) and not meta.horizon_estimated
        await pilot.press("h")
        await pilot.pause()
        await pilot.press(*"99999", "enter")  # out of range: the dialog stays open and says why
        await pilot.pause()
        await settled(pilot)
        assert "between" in str(app.screen.query_one("#number-error").render())
        await pilot.press("escape")
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "QueueScreen"


async def test_add_background_from_a_path(sample_ws: Path, clean_photo: Path) -> None:
    from garbtui.tui.screens.images import ImagesScreen

    ws = Workspace.open(sample_ws)
    before = set(ws.background_ids())
    app = GarbApp(sample_ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, ImagesScreen))
        await pilot.press("a")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "AddBackgroundDialog")  # pushed when idle
        # Filled in directly (typing 60 characters through Pilot takes seconds); enter submits.
        app.screen.query_one("#bg-path").value = str(clean_photo)
        app.screen.query_one("#bg-horizon").value = "310"  # given: no estimate needed
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(ws.background_ids()) == len(before) + 1)
        new_id = (set(ws.background_ids()) - before).pop()
        await wait_for(pilot, lambda: isinstance(app.screen, ImagesScreen))  # the dialog closes after it wrote
        screen = app.screen
        await wait_for(pilot, lambda: screen.kind == "background" and screen.current_id == new_id)
        meta = ws.load_background_meta(new_id)
        assert meta.scene == "road" and meta.horizon_row == 310 and not meta.horizon_estimated
        await pilot.press("h")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "NumberDialog")
        await pilot.press("ctrl+a", "ctrl+k", *"300", "enter")
        await wait_for(pilot, lambda: ws.load_background_meta(new_id).horizon_row == 300)


async def test_placement_from_the_palette_and_p(sample_ws: Path) -> None:
    from garbtui.tui.screens.placement import PlacementScreen

    app = GarbApp(sample_ws)
    async with app.run_test(size=SIZE) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Placement" in titles
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, PlacementScreen))


def test_not_a_workspace_is_a_clear_error(tmp_path: Path) -> None:
    from garbtui.core.errors import WorkspaceError

    with pytest.raises(WorkspaceError, match="not a garbtui workspace"):
        GarbApp(tmp_path)


async def test_cleanup_redraws_for_a_new_terminal_size(sample_ws: Path) -> None:
    app = GarbApp(sample_ws)
    async with app.run_test(size=SIZE) as pilot:
        await open_cleanup(pilot, app)
        screen = app.screen
        await pilot.press("c")
        await settle(pilot, app)
        cutout = screen.query_one("#cl-cutout", ImageView)
        before = cutout.shown_key
        runs = screen._sessions[screen.crop_id].kmeans_runs
        await pilot.resize_terminal(120, 36)
        await wait_for(pilot, lambda: cutout.shown_key != before and screen.shown_generation == screen.generation)
        frame = cutout.query_one("_TextFrame").frame
        assert frame.cols <= cutout.content_region.width and frame.rows <= cutout.content_region.height
        assert screen._sessions[screen.crop_id].kmeans_runs == runs


async def test_someone_elses_save_is_kept_and_reported(sample_ws: Path) -> None:
    from garbtui.core.cleanup import CleanupSession

    ws = Workspace.open(sample_ws)
    app = GarbApp(sample_ws)
    async with app.run_test(size=SIZE) as pilot:
        crop_id = table_ids(app)[0]
        await open_cleanup(pilot, app)
        screen = app.screen
        await pilot.press("c")
        await settle(pilot, app)
        # Meanwhile another process (garbtui clean, a colleague) saves this crop.
        other = CleanupSession.from_workspace(ws, crop_id).run()
        ws.save_proc(crop_id, other.rgba, other.recipe.model_copy(update={"feather": 4}))
        await pilot.press("s")
        await wait_for(pilot, lambda: len(ws.proc_backups(crop_id)) == 1)
        await wait_for(pilot, lambda: any("someone else" in str(n.message) for n in app._notifications))
        await pilot.press("s")  # a second save of our own is not a conflict
        await wait_for(pilot, lambda: len(ws.proc_backups(crop_id)) == 2)
        await settled(pilot)
        assert sum("someone else" in str(n.message) for n in app._notifications) == 1
        assert ws.load_crop_meta(crop_id).cleanup == screen.result.recipe


async def test_user_theme_file_is_offered(sample_ws: Path) -> None:
    themes = config_path().parent / "themes"
    themes.mkdir(parents=True)
    (themes / "mine.toml").write_text('name = "my-theme"\nprimary = "#AA3377"\ndark = true\n', encoding="utf-8")
    app = GarbApp(sample_ws, theme="my-theme")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.theme == "my-theme"
        assert "Theme: my-theme" in [c.title for c in app.get_system_commands(app.screen)]


async def test_queue_follows_changes_made_by_other_processes(sample_ws: Path) -> None:
    import shutil

    from garbtui.core.cleanup import CleanupSession

    ws = Workspace.open(sample_ws)
    app = GarbApp(sample_ws)
    async with app.run_test(size=SIZE) as pilot:
        ids = table_ids(app)
        # Another process cleans the second crop and removes the third.
        result = CleanupSession.from_workspace(ws, ids[1]).run()
        ws.save_proc(ids[1], result.rgba, result.recipe)
        shutil.rmtree(ws.crop_dir(ids[2]))
        await wait_for(pilot, lambda: ids[1] not in table_ids(app) and ids[2] not in table_ids(app), timeout=10)
        assert app.queue.rows[ids[1]].status == "done" and ids[2] not in app.queue.rows


async def test_quit_asks_before_losing_an_unsaved_cutout(sample_ws: Path) -> None:
    from garbtui.tui.dialogs.confirm import ConfirmDialog
    from garbtui.tui.screens.cleanup import CleanupScreen

    ws = Workspace.open(sample_ws)
    app = GarbApp(sample_ws)
    async with app.run_test(size=SIZE) as pilot:
        crop_id = table_ids(app)[0]
        await open_cleanup(pilot, app)
        await pilot.press("c")
        await settle(pilot, app)
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, CleanupScreen))
        await pilot.press("s")
        await wait_for(pilot, lambda: ws.proc_path(crop_id).is_file() and not app.screen.has_unsaved_work())
        await pilot.press("q")  # saved: quits at once
        await pilot.pause()
    assert app.return_code == 0 and not app.is_running
