"""Cleanup against a workspace: saving proc.png, exact alpha round trip, refusals, batches in threads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from garbtui.core.cleanup import CleanupSession, auto_recipe, clean_crop, clean_crops, save_result
from garbtui.core.errors import CleanupError
from garbtui.core.workspace.imageio import read_rgba
from garbtui.core.workspace.store import Workspace
from tests.unit.test_cleanup_session import make_crop


def add_crop(ws: Workspace, kind: str = "box", ann_id: int = 6, crop_id: str | None = None, margin: float = 0.15) -> str:
    """Write one real crop (raw.png + meta.json, and mask.png for a brush) into the workspace."""
    probe = make_crop("box" if kind == "brush" else kind, margin=margin, ann_id=ann_id)[1]
    crop_id = crop_id or f"{probe.id}-{ann_id}"
    rgb, meta, _ = make_crop(kind, margin=margin, ann_id=ann_id, crop_dir=ws.crop_dir(crop_id))
    meta = meta.model_copy(update={"id": crop_id})
    ws.crop_dir(crop_id).mkdir(parents=True, exist_ok=True)
    ws.write_raw(crop_id, rgb)
    ws.save_crop_meta(meta)
    return crop_id


def test_clean_crop_saves_exact_alpha_and_recipe(tmp_ws: Workspace) -> None:
    crop_id = add_crop(tmp_ws, "polygon")
    result = clean_crop(tmp_ws, crop_id, auto_recipe(feather=2))
    back = read_rgba(tmp_ws.proc_path(crop_id))
    assert np.array_equal(back[:, :, 3], result.alpha)  # soft alpha values survive the PNG exactly
    assert np.array_equal(back, result.rgba)
    assert len(np.unique(result.alpha)) > 2
    stored = tmp_ws.load_crop_meta(crop_id).cleanup
    assert stored == result.recipe and stored.keep is not None and stored.feather == 2
    again = CleanupSession.from_workspace(tmp_ws, crop_id).run(stored)  # replay from meta.json
    assert np.array_equal(again.alpha, result.alpha)


def test_done_crop_needs_force_and_keeps_a_backup(tmp_ws: Workspace) -> None:
    crop_id = add_crop(tmp_ws, "box")
    first = clean_crop(tmp_ws, crop_id)
    with pytest.raises(CleanupError, match="already has proc.png"):
        clean_crop(tmp_ws, crop_id)
    clean_crop(tmp_ws, crop_id, auto_recipe(k=4), force=True)
    backups = tmp_ws.proc_backups(crop_id)
    assert len(backups) == 1
    assert np.array_equal(read_rgba(backups[0])[:, :, 3], first.alpha)
    assert tmp_ws.load_crop_meta(crop_id).cleanup.k == 4


def test_fully_transparent_cutout_is_refused_and_not_saved(tmp_ws: Workspace) -> None:
    crop_id = add_crop(tmp_ws, "box")
    with pytest.raises(CleanupError, match="fully transparent"):
        clean_crop(tmp_ws, crop_id, auto_recipe(keep=[]))
    assert not tmp_ws.proc_path(crop_id).exists()
    assert tmp_ws.load_crop_meta(crop_id).cleanup is None
    empty = CleanupSession.from_workspace(tmp_ws, crop_id).run(auto_recipe(keep=[]))
    with pytest.raises(CleanupError, match=crop_id):
        save_result(tmp_ws, crop_id, empty)
    assert list(tmp_ws.crop_dir(crop_id).glob("proc*.png")) == []


def test_brush_prior_from_workspace(tmp_ws: Workspace) -> None:
    crop_id = add_crop(tmp_ws, "brush")
    session = CleanupSession.from_workspace(tmp_ws, crop_id)
    _, _, gt = make_crop("polygon")
    assert np.array_equal(session.object_prior, gt)  # mask.png was read as the prior
    assert session.precise  # a drawn outline is followed, not treated as a loose box
    result = session.run()
    assert float((result.mask & gt).sum()) / float((result.mask | gt).sum()) > 0.95
    assert not CleanupSession.from_workspace(tmp_ws, add_crop(tmp_ws, "box")).precise


def test_raw_and_meta_disagreeing_is_a_clear_error(tmp_ws: Workspace) -> None:
    crop_id = add_crop(tmp_ws, "box")
    meta = tmp_ws.load_crop_meta(crop_id)
    tmp_ws.save_crop_meta(meta.model_copy(update={"crop_width": meta.crop_width + 3}))
    with pytest.raises(CleanupError, match="raw.png is"):
        CleanupSession.from_workspace(tmp_ws, crop_id)


def test_batch_in_threads_matches_serial_and_reports_failures(tmp_path: Path) -> None:
    results = {}
    for workers in (1, 2):
        ws = Workspace.create(tmp_path / f"ws{workers}")
        ids = [add_crop(ws, "box", 6, "can"), add_crop(ws, "polygon", 22, "cup"), add_crop(ws, "box", 12, "tiny")]
        seen: list[tuple[int, int]] = []
        outcomes = clean_crops(ws, ids + ["missing"], workers=workers,
                               progress=lambda d, t, n="", seen=seen: seen.append((d, t)))
        assert [o.ok for o in outcomes] == [True, True, True, False]
        assert "no such crop" in outcomes[-1].message
        assert seen[-1] == (4, 4)
        results[workers] = [read_rgba(ws.proc_path(c)) for c in ids]
    for a, b in zip(results[1], results[2], strict=True):
        assert np.array_equal(a, b)


def test_save_result_says_when_someone_else_saved_meanwhile(tmp_ws: Workspace) -> None:
    crop_id = add_crop(tmp_ws, "box")
    session = CleanupSession.from_workspace(tmp_ws, crop_id)
    opened = tmp_ws.proc_stamp(crop_id)  # no proc.png when the crop was opened
    theirs = session.run(auto_recipe(k=3))
    tmp_ws.save_proc(crop_id, theirs.rgba, theirs.recipe)  # another process saves first
    ours = session.run(auto_recipe(k=5))
    saved = save_result(tmp_ws, crop_id, ours, expected=opened)
    assert saved.conflict and saved.backup is not None
    assert np.array_equal(read_rgba(saved.backup)[:, :, 3], theirs.alpha)  # theirs is kept
    assert np.array_equal(read_rgba(tmp_ws.proc_path(crop_id))[:, :, 3], ours.alpha)
    again = save_result(tmp_ws, crop_id, ours, expected=tmp_ws.proc_stamp(crop_id))
    assert not again.conflict
