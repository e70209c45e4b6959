"""The TUI never drops unsaved work without asking, and survives bad metadata, odd labels and bad themes."""

from __future__ import annotations

import json
from pathlib import Path

from garbtui.tui import GarbApp
from tests.conftest import cut_out
from tests.helpers.pilot import settled, wait_for

SIZE = (140, 44)


async def _cleaned_on_screen(pilot, app: GarbApp):
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.screen.__class__.__name__ == "CleanupScreen")
    screen = app.screen
    await pilot.press("c")
    await wait_for(pilot, lambda: screen.result is not None and screen.shown_generation == screen.generation)
    return screen


async def test_escape_and_next_ask_before_dropping_an_unsaved_cutout(sample_ws: Path) -> None:
    app = GarbApp(sample_ws, image_protocol="halfcell", remember_theme=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _cleaned_on_screen(pilot, app)
        crop = screen.crop_id
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ConfirmDialog")
        await pilot.press("n")  # no: stay with the cutout
        await wait_for(pilot, lambda: app.screen is screen)
        assert screen.crop_id == crop and screen.has_unsaved_work()
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ConfirmDialog")
        await pilot.press("y")  # yes: discard and go back to the queue
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "QueueScreen")
        assert not (sample_ws / "crops" / crop / "proc.png").exists()


async def test_quit_asks_about_an_unsaved_scene(sample_ws: Path) -> None:
    from garbtui.core.workspace.models import CleanupRecipe
    from garbtui.core.workspace.store import Workspace

    ws = Workspace.open(sample_ws)
    cut_out(ws, ws.crop_ids()[:1], CleanupRecipe())
    app = GarbApp(sample_ws, image_protocol="halfcell", remember_theme=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "PlacementScreen")
        placement = app.screen
        placement.query_one("#pl-fragments").focus()
        await pilot.press("a")
        await wait_for(pilot, lambda: placement.draft.dirty)
        await app.action_quit()
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ConfirmDialog")
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is placement)
        app.action_placement()  # the palette entry again: no second placement screen on top
        await settled(pilot)
        assert sum(s.__class__.__name__ == "PlacementScreen" for s in app.screen_stack) == 1


async def test_images_screen_survives_a_broken_meta(sample_ws: Path) -> None:
    first = sorted((sample_ws / "images").iterdir())[0]
    (first / "meta.json").write_text("{bad")
    app = GarbApp(sample_ws, image_protocol="halfcell", remember_theme=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("i")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ImagesScreen")
        for key in ("k", "h", "[", "]", "e"):
            await pilot.press("home", key)
            await settled(pilot)
            if app.screen.__class__.__name__ != "ImagesScreen":
                await pilot.press("escape")
        assert app.screen.__class__.__name__ == "ImagesScreen"


async def test_labels_with_brackets_and_a_bad_user_theme(sample_ws: Path, tmp_path: Path, monkeypatch) -> None:
    crop = sorted((sample_ws / "crops").iterdir())[0]
    meta = json.loads((crop / "meta.json").read_text())
    meta["label"] = "Other [/plastic]"
    (crop / "meta.json").write_text(json.dumps(meta))
    config = tmp_path / "config"
    (config / "themes").mkdir(parents=True)
    (config / "themes" / "bad.toml").write_text('name = "mybad"\nprimary = "notacolour"\n')
    (config / "tui.json").write_text(json.dumps({"theme": "mybad"}))
    monkeypatch.setenv("GARBTUI_CONFIG_DIR", str(config))
    app = GarbApp(sample_ws, image_protocol="halfcell", remember_theme=False)
    async with app.run_test(size=SIZE) as pilot:
        assert app.theme != "mybad"
        await pilot.press("l")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ChoiceDialog")
        await settled(pilot)
        assert app.screen.__class__.__name__ == "ChoiceDialog"


async def test_a_saved_cutout_stays_saved_after_a_resize(sample_ws: Path) -> None:
    app = GarbApp(sample_ws, image_protocol="halfcell", remember_theme=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _cleaned_on_screen(pilot, app)
        await pilot.press("s")
        await wait_for(pilot, lambda: not screen.has_unsaved_work())
        before = screen.generation
        await pilot.resize_terminal(120, 40)
        await wait_for(pilot, lambda: screen.generation > before, timeout=20)  # the panels were redrawn
        await wait_for(pilot, lambda: screen.shown_generation == screen.generation, timeout=20)
        assert not screen.has_unsaved_work()


async def test_a_cluster_key_during_a_recount_does_not_undo_it(sample_ws: Path, monkeypatch) -> None:
    """`+` then `1` before the new clusters are back: k stays raised, the 1 is refused with a note."""
    import time

    from garbtui.core.cleanup import CleanupSession

    real_run = CleanupSession.run

    def slow_run(self, recipe=None):  # the real cleanup, a little later
        time.sleep(0.4)
        return real_run(self, recipe)

    app = GarbApp(sample_ws, image_protocol="halfcell", remember_theme=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _cleaned_on_screen(pilot, app)
        k0 = screen.result.k
        monkeypatch.setattr(CleanupSession, "run", slow_run)
        await pilot.press("plus", "1")
        await wait_for(pilot, lambda: screen.shown_generation == screen.generation, timeout=20)
        assert screen.recipe.k == k0 + 1 and screen.result.k == k0 + 1
        assert screen.recipe.keep is None  # still the automatic choice for the new k
