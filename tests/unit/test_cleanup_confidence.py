"""Cutout confidence: a clear object scores high, a box on bare ground is suspect; saves record it in meta.json."""

from __future__ import annotations

import numpy as np

from garbtui.core.cleanup import CleanupSession, auto_recipe, clean_crop, clean_crops, confidence, save_result
from garbtui.core.workspace.imageio import read_rgb
from garbtui.core.workspace.store import Workspace
from tests.conftest import SHARED
from tests.unit.test_cleanup_session import make_crop
from tests.unit.test_cleanup_workspace import add_crop

CLEAN = SHARED / "photos" / "clean"


def _bare_ground(name: str, x: int, y: int, w: int, h: int) -> CleanupSession:
    """A 'box' drawn on litter-free ground, with a 15% margin: there is no object to find."""
    photo = read_rgb(CLEAN / name)
    mx, my = int(0.15 * w), int(0.15 * h)
    rgb = np.ascontiguousarray(photo[y - my : y + h + my, x - mx : x + w + mx])
    box = np.zeros(rgb.shape[:2], bool)
    box[my : my + h, mx : mx + w] = True
    return CleanupSession(rgb, box, ~box)


def test_clear_object_is_trusted_and_bare_ground_is_suspect() -> None:
    rgb, _meta, gt = make_crop("polygon")
    obj = CleanupSession(rgb, gt, np.zeros_like(gt), precise=True).run()
    assert obj.quality is not None and not obj.quality.suspect and obj.quality.reasons == []
    ground = _bare_ground("taco_b2_000018_crop.jpg", 500, 300, 220, 200).run()
    assert ground.quality is not None and ground.quality.suspect
    assert ground.quality.score < obj.quality.score
    assert ground.quality.reasons and all(r in confidence.REASONS.values() for r in ground.quality.reasons)


def test_evidence_names_and_score_range() -> None:
    rgb, _meta, gt = make_crop("box")
    box = np.zeros_like(gt)
    ys, xs = np.nonzero(gt)
    box[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1] = True
    session = CleanupSession(rgb, box, ~box)
    result = session.run(auto_recipe())
    ev = session.evidence(result)
    assert set(ev) == set(confidence.NAMES)
    assert ev["precise"] == 0.0 and 0.0 <= ev["agreement"] <= 1.0 and 0.0 <= ev["certainty"] <= 1.0
    assert result.quality is not None and result.quality.score == round(confidence.score(ev), 4)
    # An empty cutout has no object: its evidence is the worst there is, so it scores lower.
    empty = dict(ev, fill=0.0, solidity=0.0, sides=0.0, contrast=0.0, delta_e=0.0, certainty=0.0)
    assert confidence.score(empty) < confidence.score(ev)


def test_clean_writes_quality_and_app_save_marks_it_curated(tmp_ws: Workspace) -> None:
    crop_id = add_crop(tmp_ws, "box")
    result = clean_crop(tmp_ws, crop_id)
    stored = tmp_ws.load_crop_meta(crop_id).quality
    assert stored is not None and result.quality is not None
    assert stored.score == result.quality.score and stored.suspect == result.quality.suspect and not stored.curated
    session = CleanupSession.from_workspace(tmp_ws, crop_id)
    save_result(tmp_ws, crop_id, session.run(auto_recipe(k=4)), curated=True)
    assert tmp_ws.load_crop_meta(crop_id).quality.curated  # type: ignore[union-attr]  # checked just above


def test_batch_outcome_carries_the_score(tmp_ws: Workspace) -> None:
    crop_id = add_crop(tmp_ws, "polygon")
    (outcome,) = clean_crops(tmp_ws, [crop_id])
    assert outcome.ok and outcome.score is not None
    assert outcome.score == tmp_ws.load_crop_meta(crop_id).quality.score  # type: ignore[union-attr]  # set by clean
