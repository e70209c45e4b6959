"""The placement screen driven by keys with Pilot on a copy of the sample workspace with a few cleaned crops."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from garbtui.core.workspace.store import Workspace
from garbtui.tui import GarbApp
from garbtui.tui.widgets.image_view import ImageView
from tests.helpers.pilot import settled, wait_for
from tests.tui.conftest import DONE

SIZE = (160, 48)
ROAD_BG = "udacity_p1_solidwhiteright-7347e8"  # 960x540, horizon row 307.8, placement band 318.6..540
FRONT_BG = "taco_b2_000044_crop_paving-3b8051"
REFERENCE = "taco_b1_000111-1c27bb7938"


async def open_placement(pilot, app: GarbApp):
    from garbtui.tui.screens.placement import PlacementScreen

    await pilot.press("p")
    await wait_for(pilot, lambda: isinstance(app.screen, PlacementScreen))
    return app.screen


async def settle(pilot, screen) -> None:
    """Wait until the preview shows the newest render request."""
    await pilot.app.workers.wait_for_complete()
    await wait_for(pilot, lambda: screen.preview.shown_generation == screen.preview.generation)


async def pick_background(pilot, screen, bg_id: str) -> None:
    from textual.widgets import OptionList

    bg_list = screen.query_one("#pl-backgrounds", OptionList)
    bg_list.focus()
    await pilot.press("home")
    ids = [o.id for o in bg_list.options]
    for _ in range(ids.index(bg_id)):
        await pilot.press("down")
    await wait_for(pilot, lambda: screen.draft.background is not None and screen.draft.background.id == bg_id)


def field(screen, key: str):
    from garbtui.tui.widgets.placement_fields import NumberField

    return screen.query_one(f"#pf-{key}", NumberField)


async def pick_fragment(pilot, screen, crop_id: str) -> None:
    from textual.widgets import OptionList

    frag_list = screen.query_one("#pl-fragments", OptionList)
    frag_list.focus()
    await pilot.press("home")
    ids = [o.id for o in frag_list.options]
    for _ in range(ids.index(crop_id)):
        await pilot.press("down")
    await wait_for(pilot, lambda: frag_list.highlighted_option.id == crop_id)


async def type_into(pilot, screen, key: str, text: str) -> None:
    field(screen, key).focus()
    await pilot.press("ctrl+a", "ctrl+k", *text)


async def place_first_fragment(pilot, app: GarbApp):
    """The placement screen with the road background and one placement of DONE[0] added; returns the screen."""
    screen = await open_placement(pilot, app)
    await pick_background(pilot, screen, ROAD_BG)
    await pick_fragment(pilot, screen, DONE[0])
    await pilot.press("a")
    await settle(pilot, screen)
    return screen


async def test_place_type_nudge_add_save_render(placement_ws: Path) -> None:
    ws = Workspace.open(placement_ws)
    app = GarbApp(placement_ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await place_first_fragment(pilot, app)
        assert len(screen.draft.placements) == 1 and screen.draft.placements[0].crop_id == DONE[0]
        assert app.focused is field(screen, "x")  # ready to type where it goes
        await type_into(pilot, screen, "x", "400")
        await type_into(pilot, screen, "y", "500")
        await pilot.press("up")  # y step: 960 px wide background -> 5 px
        await pilot.press("shift+up", "down")
        await type_into(pilot, screen, "rotation", "15")
        await settle(pilot, screen)
        first = screen.draft.placements[0]
        assert (first.x, first.y, first.scale, first.rotation) == (400, 550, "auto", 15)
        # The preview shows the newest scene, with the object's label, box and visibility listed beside it.
        assert screen.preview.last[0].placements == screen.draft.placements
        obj = screen.preview.result.objects[0]
        assert obj.label == "Drink can" and not obj.dropped and obj.scale.source in ("prior", "source-k")
        listing = str(screen.query_one("#pl-objects").render())
        assert "Drink can" in listing and "visible 100%" in listing
        assert screen.query_one("#pl-view", ImageView).shown_key == ("placement", screen.preview.generation)

        # `a` works while a numeric field has focus: letters it cannot hold go to the screen.
        await pick_fragment(pilot, screen, DONE[1])
        await type_into(pilot, screen, "x", "300")  # edits the first placement
        await pilot.press("a")
        await wait_for(pilot, lambda: len(screen.draft.placements) == 2)
        assert screen.draft.selected == 1 and screen.draft.placements[1].crop_id == DONE[1]
        await type_into(pilot, screen, "x", "620")
        await type_into(pilot, screen, "y", "520")
        await type_into(pilot, screen, "scale", "0.5")
        await pilot.press("up")  # scale step 0.05
        await settle(pilot, screen)
        assert [p.x for p in screen.draft.placements] == [300, 620]
        assert screen.draft.placements[1].scale == pytest.approx(0.55)
        assert len(screen.preview.result.objects) == 2 and screen.preview.result.objects[1].scale.source == "manual"

        await pilot.press("s")
        scene_json = ws.scene_dir("scene-0001") / "scene.json"
        await wait_for(pilot, lambda: scene_json.is_file())
        saved = json.loads(scene_json.read_text())
        assert saved["background_id"] == ROAD_BG
        assert [(p["crop_id"], p["x"], p["y"], p["scale"], p["rotation"]) for p in saved["placements"]] == [
            (DONE[0], 300, 550, "auto", 15), (DONE[1], 620, 520, pytest.approx(0.55), 0)]
        assert not screen.draft.dirty

        await pilot.press("R")
        folder = ws.scene_dir("scene-0001")
        await wait_for(pilot, lambda: (folder / "labels" / "coco.json").is_file(), timeout=30)
        await pilot.app.workers.wait_for_complete()
        assert (folder / "render.jpg").is_file()
        coco = json.loads((folder / "labels" / "coco.json").read_text())
        assert len(coco["annotations"]) == 2
        assert coco["images"][0]["width"] == 960
        await pilot.pause()
        assert any("render.jpg" in n.message for n in app._notifications)

        await pilot.press("escape")  # leaves the field
        await pilot.press("escape")  # leaves the screen (saved: no warning)
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "QueueScreen")


async def test_invalid_values_show_an_error_and_do_not_rerender(placement_ws: Path) -> None:
    ws = Workspace.open(placement_ws)
    app = GarbApp(placement_ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await place_first_fragment(pilot, app)
        good = screen.draft.placements[0]
        generation = screen.preview.generation
        form = screen.query_one("#pl-form")

        await type_into(pilot, screen, "scale", "-1")
        await settled(pilot)
        assert "scale" in form.errors and "above 0" in form.errors
        assert field(screen, "scale").has_class("-invalid")
        assert screen.draft.placements[0] == good and screen.preview.generation == generation

        await type_into(pilot, screen, "scale", "auto")
        await type_into(pilot, screen, "y", "100")  # above the horizon (row 307.8): auto cannot scale it
        await settled(pilot)
        assert "above the horizon" in form.errors and field(screen, "y").has_class("-invalid")
        assert screen.draft.placements[0] == good and screen.preview.generation == generation

        await type_into(pilot, screen, "x", "12xz")  # letters never enter a number field
        await pilot.pause()
        assert field(screen, "x").value == "12"
        await pilot.press("s")  # refused while a field is wrong
        await settled(pilot)
        assert not ws.scene_ids()

        await type_into(pilot, screen, "y", "480")
        await settle(pilot, screen)
        assert form.errors == "" and screen.draft.placements[0].y == 480 and screen.draft.placements[0].x == 12
        assert screen.preview.generation > generation and screen.preview.error == ""
        # Nudging `auto` starts from the scale perspective gave it in the preview.
        auto = screen.preview.result.objects[0].scale.scale
        field(screen, "scale").focus()
        await pilot.press("up")
        await settle(pilot, screen)
        assert screen.draft.placements[0].scale == pytest.approx(round(auto, 3) + 0.05)
        assert screen.preview.result.objects[0].scale.source == "manual"


async def test_recreate_loads_the_reference_layout(placement_ws: Path) -> None:
    from textual.widgets import OptionList

    from garbtui.tui.dialogs.choice import ChoiceDialog

    ws = Workspace.open(placement_ws)
    app = GarbApp(placement_ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_placement(pilot, app)
        await pick_background(pilot, screen, ROAD_BG)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        dialog = app.screen
        images = [v for v in dialog._values]
        for _ in range(images.index(REFERENCE)):
            await pilot.press("down")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen and len(screen.draft.placements) > 0, timeout=30)
        await settle(pilot, screen)
        crops = [c for c in ws.crop_ids() if c.startswith(REFERENCE)]
        assert len(screen.draft.placements) == len(crops)
        assert {p.crop_id for p in screen.draft.placements} == set(DONE)
        assert screen.draft.scene_id.startswith("rec-") and len(screen.draft.scene_id) <= 40 and screen.draft.dirty
        assert screen.query_one("#pl-placements", OptionList).option_count == len(crops)
        listing = str(screen.query_one("#pl-objects").render())
        assert "layout:" in listing  # recreate's notes are shown beside the preview
        assert len(screen.preview.result.objects) == len(crops)
        await pilot.press("s")
        await wait_for(pilot, lambda: screen.draft.scene_id in ws.scene_ids())
        assert len(ws.load_scene(screen.draft.scene_id).placements) == len(crops)


async def test_open_edit_delete_and_stale_renders(placement_ws: Path) -> None:
    from garbtui.core.workspace.models import Placement, Scene

    ws = Workspace.open(placement_ws)
    ws.save_scene(Scene(id="kept", background_id=FRONT_BG, placements=[
        Placement(crop_id=DONE[0], x=500, y=800, scale=0.8),
        Placement(crop_id=DONE[1], x=700, y=820, scale=0.8, flip=True, blend="none"),
    ]))
    app = GarbApp(placement_ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_placement(pilot, app)
        await settle(pilot, screen)
        await pilot.press("o")
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.draft.scene_id == "kept")
        await settle(pilot, screen)
        assert screen.draft.background.id == FRONT_BG and len(screen.preview.result.objects) == 2
        assert screen.query_one("#pf-flip").value is False  # the first placement is selected
        from textual.widgets import OptionList

        screen.query_one("#pl-placements", OptionList).focus()
        await pilot.press("down")
        await wait_for(pilot, lambda: screen.draft.selected == 1)
        assert screen.query_one("#pf-flip").value is True
        # A burst of nudges: only the newest request's render may end up on screen.
        field(screen, "x").focus()
        await pilot.press("shift+up", "up", "up", "shift+down", "up")
        await settle(pilot, screen)
        await settled(pilot)  # nothing older may arrive after it
        assert screen.draft.placements[1].x == 700 + 3 * 6  # step: 1280 px wide -> 6 px
        assert screen.preview.last[0].placements == screen.draft.placements
        assert screen.preview.shown_generation == screen.preview.generation
        await pilot.press("escape")  # out of the field, into the placement list
        await pilot.press("d")
        await settle(pilot, screen)
        assert [p.crop_id for p in screen.draft.placements] == [DONE[0]] and len(screen.preview.result.objects) == 1
        await pilot.press("escape")  # unsaved: warns first
        await settled(pilot)
        assert app.screen is screen
        await pilot.press("s")
        await wait_for(pilot, lambda: len(ws.load_scene("kept").placements) == 1)
        assert not ws.scene_backups("kept")  # we saved over the scene we had opened: no conflict


async def test_drops_area_warnings_and_toggles(placement_ws: Path) -> None:
    from textual.widgets import OptionList

    from garbtui.core.workspace.models import Placement, Scene

    ws = Workspace.open(placement_ws)
    ws.save_scene(Scene(id="busy", background_id=ROAD_BG, placements=[
        Placement(crop_id=DONE[0], x=480, y=500, scale=0.3),
        Placement(crop_id=DONE[1], x=480, y=505, scale=2.5),  # covers the first one
        Placement(crop_id=DONE[0], x=700, y=312, scale=0.5),  # below the horizon, above the placement band
    ]))
    app = GarbApp(placement_ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_placement(pilot, app)
        await settle(pilot, screen)
        assert screen.open_scene("busy")
        await settle(pilot, screen)
        hidden, cover, far = screen.preview.result.objects
        assert hidden.dropped and not cover.dropped and not far.in_area
        listing = str(screen.query_one("#pl-objects").render())
        assert "dropped: hidden" in listing and "outside placement area" in listing
        assert "above the placement band" in listing  # the render's warning, word for word
        screen.query_one("#pl-placements", OptionList).focus()
        await pilot.press("down")
        await wait_for(pilot, lambda: screen.draft.selected == 1)
        screen.query_one("#pf-flip").focus()
        await pilot.press("space")
        await wait_for(pilot, lambda: screen.draft.placements[1].flip)
        screen.query_one("#pf-blend").focus()
        await pilot.press("enter", "down", "enter")
        await wait_for(pilot, lambda: screen.draft.placements[1].blend == "poisson")
        screen.query_one("#pf-shadow").focus()
        assert screen.draft.placements[1].shadow == "auto"  # the default: ticked, a shadow on the ground
        await pilot.press("space")
        await wait_for(pilot, lambda: screen.draft.placements[1].shadow is False)
        await settle(pilot, screen)
        assert screen.preview.last[0].placements[1].blend == "poisson" and screen.draft.placements[0].blend == "feather"
        await pilot.press("q")  # unsaved: the first q only warns
        await settled(pilot)
        assert app.is_running and app.screen is screen
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running)


async def test_every_key_is_in_the_palette(placement_ws: Path) -> None:
    from garbtui.tui.screens.help import key_name, plain_text
    from garbtui.tui.screens.placement import PlacementScreen

    app = GarbApp(placement_ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_placement(pilot, app)
        titles = [c.title for c in app.get_system_commands(screen)]
        for binding in PlacementScreen.BINDINGS:
            assert binding.description in titles
        footer_keys = {b.binding.action for b in screen.active_bindings.values() if b.binding.show}
        # The footer keeps the essential keys (it fits 80 columns); help lists every one.
        assert {"add", "delete", "save", "render", "quit_app"} <= footer_keys
        assert not {"open", "recreate", "new", "zoom", "upright"} & footer_keys
        text = plain_text(120)
        for binding in PlacementScreen.BINDINGS:
            assert binding.description in text and key_name(binding) in text
        await pilot.press("a")
        await wait_for(pilot, lambda: app.focused is field(screen, "x"))
        footer_keys = {b.binding.action for b in screen.active_bindings.values() if b.binding.show}
        assert {"add", "save", "render"} <= footer_keys and "nudge(1)" not in footer_keys  # nudging: in the hint
        # Back from another screen (help here; the images screen via the palette), a horizon typed
        # meanwhile is picked up and drawn.
        from garbtui.core.scene.backgrounds import set_horizon

        await pick_background(pilot, screen, ROAD_BG)
        await settle(pilot, screen)
        set_horizon(Workspace.open(placement_ws), ROAD_BG, 350)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: app.screen is not screen)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen and screen.draft.background.horizon_row == 350)
        await settle(pilot, screen)


def test_placement_screen_snapshot(placement_ws: Path, snap_compare) -> None:
    from garbtui.core.workspace.models import Placement, Scene

    ws = Workspace.open(placement_ws)
    ws.save_scene(Scene(id="snap", background_id=ROAD_BG, placements=[
        Placement(crop_id=DONE[0], x=300, y=420, scale="auto"),
        Placement(crop_id=DONE[1], x=640, y=500, scale=0.6, rotation=20),
    ]))

    async def run_before(pilot) -> None:
        screen = await open_placement(pilot, pilot.app)
        assert screen.open_scene("snap")
        await settle(pilot, screen)
        from textual.widgets import OptionList

        screen.query_one("#pl-placements", OptionList).focus()
        pilot.app.clear_notifications()
        await pilot.pause()

    assert snap_compare(GarbApp(placement_ws), terminal_size=SIZE, run_before=run_before)
