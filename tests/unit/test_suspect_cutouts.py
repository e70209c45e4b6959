"""Honest labels, consumer side: `generate` and `recreate` leave suspect cutouts out unless curated or asked for.

The quality scores here are written by the test (CropMeta.quality); computing them is `clean`'s job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from garbtui.core.errors import InputError
from garbtui.core.generate.sampler import build_catalog
from garbtui.core.recreate import recreate_scene, reference_objects
from garbtui.core.scene.backgrounds import add_background
from garbtui.core.workspace.models import CropMeta, CutoutQuality
from garbtui.core.workspace.store import Workspace
from tests.conftest import PHOTOS

CANS = "taco_b1_000111-1c27bb7938"  # road photo: two drink cans and a food container


@pytest.fixture(scope="module")
def ws(cut_ws: Workspace) -> Workspace:
    add_background(cut_ws, PHOTOS / "clean" / "taco_b2_000044_crop_paving.jpg", "front", bg_id="paving")
    return cut_ws


@contextmanager
def scored(ws: Workspace, qualities: dict[str, CutoutQuality | None]) -> Iterator[None]:
    """Give crops these quality scores for the duration of the block, then put the old ones back."""
    old = {c: ws.load_crop_meta(c).quality for c in qualities}

    def setter(q: CutoutQuality | None) -> Callable[[CropMeta], None]:
        return lambda m: setattr(m, "quality", q)

    for crop_id, q in qualities.items():
        ws.update_crop_meta(crop_id, setter(q))
    try:
        yield
    finally:
        for crop_id, q in old.items():
            ws.update_crop_meta(crop_id, setter(q))


def suspect(curated: bool = False) -> CutoutQuality:
    return CutoutQuality(score=0.1, suspect=True, reasons=["kept pixels look like the margin"], curated=curated)


def test_generate_leaves_suspects_out_unless_curated_or_asked(ws: Workspace) -> None:
    ids = ws.crop_ids()
    bad, saved, fine, unscored = ids[0], ids[1], ids[2], ids[3]
    everything = {f.crop_id for f in build_catalog(ws).fragments}
    assert {bad, saved, fine, unscored} <= everything
    with scored(ws, {bad: suspect(), saved: suspect(curated=True), fine: CutoutQuality(score=0.9), unscored: None}):
        catalog = build_catalog(ws)
        used = {f.crop_id for f in catalog.fragments}
        assert bad not in used and catalog.suspects == [bad]
        assert {saved, fine, unscored} <= used, "curated, trusted and unscored cutouts are used"
        assert used == everything - {bad}
        assert [n for n in catalog.notes if "suspect" in n] == [
            n for n in catalog.notes if n.startswith(f"1 suspect cutout(s) left out ({bad})")] != []
        asked = build_catalog(ws, include_suspect=True)
        assert {f.crop_id for f in asked.fragments} == everything and asked.suspects == []
        assert not any("suspect" in n for n in asked.notes)


def test_every_cutout_suspect_is_a_clear_error(ws: Workspace) -> None:
    with scored(ws, {c: suspect() for c in ws.crop_ids()}):
        with pytest.raises(InputError, match="every cleaned fragment is suspect") as err:
            build_catalog(ws)
        assert err.value.field == "include_suspect"
        with pytest.raises(InputError, match="every cleaned fragment is suspect"):
            recreate_scene(ws, CANS, "paving")
        assert build_catalog(ws, include_suspect=True).fragments


def test_recreate_replaces_a_suspect_own_crop_and_says_so(ws: Workspace) -> None:
    refs = reference_objects(ws, CANS)
    target = next(r for r in refs if sum(o.label == r.label for o in refs) >= 2)  # a label with a second crop
    with scored(ws, {target.crop_id: suspect()}):
        scene, notes = recreate_scene(ws, CANS, "paving")
        used = [p.crop_id for p in scene.placements]
        assert target.crop_id not in used and len(used) == len(refs)
        assert any("its own crop is suspect (left out)" in n for n in notes), notes
        assert any(n.startswith(f"1 suspect cutout(s) left out ({target.crop_id})") for n in notes), notes
        again, notes = recreate_scene(ws, CANS, "paving", include_suspect=True)
        assert target.crop_id in [p.crop_id for p in again.placements]
        assert not any("suspect" in n for n in notes)
    with scored(ws, {target.crop_id: suspect(curated=True)}):
        scene, notes = recreate_scene(ws, CANS, "paving")
        assert target.crop_id in [p.crop_id for p in scene.placements] and not any("suspect" in n for n in notes)
