"""Legible at 80x24: ids cut in the middle, essential keys in the footer, states you can see, one numbering."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Footer, OptionList
from textual.widgets._footer import FooterKey

from garbtui.core.recreate import SCENE_ID_MAX, default_scene_id
from garbtui.core.workspace.models import Placement
from garbtui.tui import GarbApp
from garbtui.tui.data.ids import middle_ellipsis, unique_middle_ellipsis
from garbtui.tui.widgets.crop_list import CropList
from garbtui.tui.widgets.placement_fields import PlacementForm, StateCheckbox, up_arrow
from tests.helpers.pilot import settled, wait_for
from tests.tui.conftest import DONE
from tests.tui.test_placement import FRONT_BG, field, open_placement, pick_background, pick_fragment, settle

SMALL = (80, 24)
CROP = "taco_b1_000003-b459b6d548-paper-cup-58f84ec0"


def test_ids_are_cut_in_the_middle_and_stay_unique() -> None:
    assert middle_ellipsis(CROP, 80) == CROP
    short = middle_ellipsis(CROP, 18)
    assert len(short) == 18 and short.startswith("taco_b1") and short.endswith("-58f84ec0") and "…" in short
    assert len(middle_ellipsis(CROP, 5)) == 5
    # Two ids that differ only in the middle: the shortened forms keep them apart.
    ids = ["udacity_adv_straight_lines1-3b80", "udacity_adv_straight_lines2-3b80", "road"]
    short_ids = unique_middle_ellipsis(ids, 14)
    assert len(set(short_ids.values())) == 3 and short_ids["road"] == "road"
    assert all(len(v) <= 16 for v in short_ids.values())


def test_generated_scene_ids_are_short_and_stable() -> None:
    long_ref, long_bg = "taco_b1_000111-1c27bb7938" * 3, "udacity_adv_straight_lines1-3b8051aa" * 2
    scene_id = default_scene_id(long_ref, long_bg)
    assert scene_id.startswith("rec-taco_b1_000111") and len(scene_id) <= SCENE_ID_MAX
    assert default_scene_id(long_ref, long_bg) == scene_id  # a re-run replaces the same scene
    assert default_scene_id(long_ref + "x", long_bg) != scene_id  # ids cut alike stay apart


def test_state_glyphs_and_the_up_arrow() -> None:
    assert [up_arrow(r) for r in (0, 90, 180, -90, 360, 44)] == ["↑", "←", "↓", "→", "↑", "↖"]
    # A placement whose scale a program chose says so in its file; one without keeps its old bytes.
    assert "scale_from" not in Placement(crop_id="a", x=1, y=2).model_dump()
    assert Placement(crop_id="a", x=1, y=2, scale=0.5, scale_from="perspective").model_dump()["scale_from"] == "perspective"


def _footer_keys(app: GarbApp) -> dict[str, FooterKey]:
    footer = app.screen.query_one(Footer)
    return {key.action: key for key in footer.query(FooterKey)}


async def test_queue_at_80x24_keeps_ids_and_its_essential_keys(sample_ws: Path) -> None:
    app = GarbApp(sample_ws)
    async with app.run_test(size=SMALL) as pilot:
        crop_list = app.screen.query_one(CropList)
        await wait_for(pilot, lambda: crop_list.rows != [])
        await pilot.pause()
        line = "".join(seg.text for seg in crop_list.render_line(0))
        first = crop_list.rows[0].id
        assert "…" in line and line.rstrip().endswith(first[-8:]), line  # the hash at the end of the id is shown
        keys = _footer_keys(app)
        assert {"select", "cycle_status", "app.images", "placement", "quit", "help"} <= set(keys)
        assert "rescan" not in keys  # in help (?), not in the footer
        for key in keys.values():
            assert key.region.right <= SMALL[0], key.action  # every footer key is on screen
        assert not app.screen.query("HeaderIcon").filter(".-visible")  # no stray glyph top left
        assert all(not icon.display for icon in app.screen.query("HeaderIcon"))


async def test_below_the_minimum_size_the_app_says_how_large(sample_ws: Path) -> None:
    from garbtui.tui.screens.too_small import TooSmallScreen

    app = GarbApp(sample_ws)
    async with app.run_test(size=(60, 18)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, TooSmallScreen))
        text = str(app.screen.query_one("#too-small").render())
        assert "60x18" in text and "at least 70x20" in text
        await pilot.resize_terminal(66, 22)
        await wait_for(pilot, lambda: "66x22" in str(app.screen.query_one("#too-small").render()))
        await pilot.resize_terminal(*SMALL)
        await wait_for(pilot, lambda: not isinstance(app.screen, TooSmallScreen))
        assert app.screen.__class__.__name__ == "QueueScreen"


async def test_palette_speaks_like_help_with_one_quit(placement_ws: Path) -> None:
    from garbtui.tui.screens.help import binding_words, plain_text
    from garbtui.tui.screens.placement import PlacementScreen

    app = GarbApp(placement_ws)
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_placement(pilot, app)
        commands = list(app.get_system_commands(screen))
        titles = [c.title for c in commands]
        assert titles.count("Quit") == 1 and len(titles) == len(set(titles))
        assert not any("(key:" in c.help for c in commands)  # no raw action names
        help_text = " ".join(plain_text(200).split())
        for binding in PlacementScreen.BINDINGS:
            name, detail = binding_words(binding)
            command = next(c for c in commands if c.title == name)
            assert detail in command.help and detail in help_text  # the same words in both
    # Help lines wrap under their own column, never back under the keys.
    for line in plain_text(80).splitlines():
        if line[:16].strip() == "" and line.strip():
            assert line[16] != " ", line


async def test_placement_states_at_80x24(placement_ws: Path) -> None:
    app = GarbApp(placement_ws)
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_placement(pilot, app)
        await pick_background(pilot, screen, FRONT_BG)
        # Names are cut in the middle, so the end that tells them apart stays.
        frag_list = screen.query_one("#pl-fragments", OptionList)
        prompts = [str(o.prompt) for o in frag_list.options]
        width = frag_list.scrollable_content_region.width
        assert all(max(len(p) for p in prompt.splitlines()) <= width for prompt in prompts), prompts
        assert any(DONE[0][-9:] in prompt for prompt in prompts)
        assert not screen.draft.dirty  # a brand-new, empty scene holds nothing to lose
        await pick_fragment(pilot, screen, DONE[0])
        await pilot.press("a")
        await settle(pilot, screen)
        form = screen.query_one(PlacementForm)
        flip, match = form.query_one("#pf-flip", StateCheckbox), form.query_one("#pf-color_match", StateCheckbox)
        assert flip._button.plain == "[ ] " and match._button.plain == "[✓] "  # by shape, in any theme
        assert str(form.query_one("#pf-crop").render()).startswith("↑ ")
        # Turned, then upright again with u (from the list, as from any field that cannot hold a u).
        field(screen, "rotation").focus()
        await pilot.press("ctrl+a", "ctrl+k", "9", "0")
        await wait_for(pilot, lambda: screen.draft.placements[0].rotation == 90)
        assert str(form.query_one("#pf-crop").render()).startswith("← ")
        screen.query_one("#pl-placements", OptionList).focus()
        await pilot.press("u")
        await wait_for(pilot, lambda: screen.draft.placements[0].rotation == 0)
        assert field(screen, "rotation").value == "0"
        # Deleting the only placement of a never-saved scene leaves nothing to lose.
        await pilot.press("d")
        await settled(pilot)
        assert screen.draft.placements == [] and not screen.draft.dirty
        # A new scene's form shows a new placement's defaults, not the last one's.
        await pick_fragment(pilot, screen, DONE[0])
        await pilot.press("a")
        await settle(pilot, screen)
        from textual.widgets import Select

        form.query_one("#pf-blend", Select).value = "poisson"
        await wait_for(pilot, lambda: screen.draft.placements[0].blend == "poisson")
        frag_list.focus()
        await pilot.press("n", "n")  # unsaved: the first n warns
        await wait_for(pilot, lambda: screen.draft.placements == [])
        blend = form.query_one("#pf-blend", Select)
        assert blend.value == "feather" and blend.disabled
        # Saved is a state the title says in words.
        title = screen.query_one("#pl-title")
        await pick_fragment(pilot, screen, DONE[1])
        await pilot.press("a")
        await settle(pilot, screen)
        assert "unsaved" in str(title.render())
        frag_list.focus()
        await pilot.press("s")
        await wait_for(pilot, lambda: not screen.draft.dirty)
        assert "· saved" in str(title.render()) and "unsaved" not in str(title.render())
        keys = _footer_keys(app)
        assert {"add", "delete", "save", "render", "quit_app"} <= set(keys)
        for key in keys.values():
            assert key.region.right <= SMALL[0], key.action


def test_a_recreated_scale_names_what_chose_it(placement_ws: Path) -> None:
    from garbtui.core.compose.render import render_scene
    from garbtui.core.recreate import recreate_scene
    from garbtui.core.workspace.store import Workspace
    from tests.tui.test_placement import REFERENCE, ROAD_BG

    ws = Workspace.open(placement_ws)
    scene, _ = recreate_scene(ws, REFERENCE, ROAD_BG)
    assert scene.placements and all(p.scale != "auto" and p.scale_from is not None for p in scene.placements)
    words = {obj.scale.words for obj in render_scene(ws, scene, max_size=320).objects if obj.scale}
    assert words and "typed" not in words and words <= {"perspective", "source k", "prior", "front", "relative size"}
    typed = scene.model_copy(update={"placements": [scene.placements[0].model_copy(update={"scale": 0.5,
                                                                                          "scale_from": None})]})
    assert [o.scale.words for o in render_scene(ws, typed, max_size=320).objects if o.scale] == ["typed"]
