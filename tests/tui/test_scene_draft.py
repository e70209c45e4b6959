"""The placement screen's scene under edit, without a screen: selection, dirty state, starting over, saving."""

from __future__ import annotations

from pathlib import Path

import pytest

from garbtui.core.errors import InputError
from garbtui.core.workspace.models import CleanupRecipe, Placement, Scene
from garbtui.core.workspace.store import Workspace
from garbtui.tui.data.scene_draft import SceneDraft, form_field, scene_choices
from tests.conftest import cut_out
from tests.tui.test_placement import DONE, FRONT_BG, ROAD_BG  # the sample's backgrounds and cleaned crops


@pytest.fixture
def draft(sample_ws: Path) -> SceneDraft:
    ws = cut_out(Workspace.open(sample_ws), DONE, CleanupRecipe())
    return SceneDraft(ws)


def test_add_select_replace_delete(draft: SceneDraft) -> None:
    draft.use_background(draft.ws.load_background_meta(ROAD_BG))
    assert not draft.dirty  # choosing the first background is not an edit
    first = draft.add(draft.new_placement(DONE[0]))
    second = draft.add(draft.new_placement(DONE[1]))
    assert (first, second) == (0, 1) and draft.dirty and draft.selected is None
    assert draft.placements[0].scale == "auto" and draft.placements[0].x != draft.placements[1].x  # spread out
    assert draft.select(1) and not draft.select(1)  # the same selection again changes nothing
    assert draft.current == draft.placements[1]
    assert draft.select(7) and draft.selected is None  # out of range: no selection
    draft.select(0)
    draft.replace(0, draft.placements[0].model_copy(update={"x": 12.0}))
    assert draft.placements[0].x == 12
    assert draft.delete_selected() == 0 and draft.selected is None and len(draft.placements) == 1
    draft.select(0)
    assert draft.delete_selected() is None and not draft.placements


def test_a_new_background_under_placed_fragments_is_an_edit(draft: SceneDraft) -> None:
    draft.use_background(draft.ws.load_background_meta(ROAD_BG))
    draft.add(draft.new_placement(DONE[0]))
    draft.dirty = False
    draft.use_background(draft.ws.load_background_meta(FRONT_BG))
    assert draft.dirty


def test_reset_is_the_one_way_to_start_over(draft: SceneDraft) -> None:
    draft.use_background(draft.ws.load_background_meta(ROAD_BG))
    draft.add(draft.new_placement(DONE[0]))
    draft.seed, draft.note, draft.notes = 5, "n", ["layout: x"]
    assert not draft.discard_ok("starts a new scene") and draft.discard_warned == "starts a new scene"
    assert draft.discard_ok("starts a new scene")  # asked twice: go ahead
    draft.reset()
    assert (draft.scene_id, draft.stamp, draft.seed, draft.note, draft.notes, draft.placements, draft.selected,
            draft.dirty, draft.discard_warned) == (None, None, 0, "", [], [], None, False, None)
    assert draft.background is not None and draft.background.id == ROAD_BG  # a new scene on the same photo
    scene = Scene(id="kept", background_id=FRONT_BG, seed=3, note="hi",
                  placements=[Placement(crop_id=DONE[0], x=500, y=800, scale=0.8)])
    draft.reset(scene, dirty=True, notes=["recreated"])
    assert draft.background is None  # set from the scene's background by the caller (it may be unreadable)
    assert (draft.scene_id, draft.seed, draft.note, draft.notes, draft.dirty) == ("kept", 3, "hi", ["recreated"], True)
    draft.use_background(draft.ws.load_background_meta(FRONT_BG))
    assert draft.build_scene() == scene


def test_save_names_a_new_scene_and_notices_someone_elses(draft: SceneDraft) -> None:
    draft.use_background(draft.ws.load_background_meta(FRONT_BG))
    draft.add(Placement(crop_id=DONE[0], x=500, y=800, scale=0.8))
    saved = draft.save()
    assert draft.scene_id == "scene-0001" and not draft.dirty and not saved.conflict
    assert draft.ws.load_scene("scene-0001") == draft.build_scene()
    other = draft.ws.load_scene("scene-0001").model_copy(update={"seed": 9})
    draft.ws.save_scene(other)  # someone else, meanwhile
    draft.add(Placement(crop_id=DONE[1], x=600, y=800, scale=0.8))
    assert draft.save().conflict and draft.ws.scene_backups("scene-0001")
    assert [c for c, _ in scene_choices(draft.ws)] == ["scene-0001"]
    assert draft.rendered(draft.ws.load_scene("scene-0001")) and not draft.dirty


def test_auto_scale_problems_name_the_field_to_fix(draft: SceneDraft) -> None:
    road = draft.ws.load_background_meta(ROAD_BG)  # horizon row 307.8
    draft.use_background(road)
    above = Placement(crop_id=DONE[0], x=400, y=100, scale="auto")
    problem = draft.check(0, above)
    assert problem is not None and problem.field == "y" and "horizon" in problem.message
    assert draft.check(0, above.model_copy(update={"y": 500.0})) is None
    assert draft.check(0, above.model_copy(update={"scale": 1.0})) is None  # a typed scale always works
    no_horizon = road.model_copy(update={"horizon_row": None})
    draft.use_background(no_horizon)
    problem = draft.check(0, above.model_copy(update={"y": 500.0}))
    assert problem is not None and problem.field == "scale"
    # An error that names its field (core's GarbError.field) is shown next to that field.
    named = InputError("must be between -360 and 360", field="rotation")
    assert form_field(named, above, road) == "rotation"
