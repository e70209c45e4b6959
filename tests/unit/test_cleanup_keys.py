"""Cluster keys act on the automatic cutout: taking a cluster out never adds pixels, putting one in never removes."""

from __future__ import annotations

import numpy as np

from garbtui.core.cleanup import CleanupResult, CleanupSession, auto_recipe
from garbtui.core.cleanup.keys import partly_kept, press
from garbtui.core.workspace.models import CleanupRecipe
from tests.unit.test_cleanup_session import make_crop


def _box_session() -> CleanupSession:
    rgb, _meta, gt = make_crop("box")
    ys, xs = np.nonzero(gt)
    box = np.zeros_like(gt)
    box[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1] = True
    return CleanupSession(rgb, box, ~box)


def _check_keys(session: CleanupSession) -> None:
    auto = session.run(auto_recipe())
    rng = np.random.default_rng(3)
    keep, mask = set(auto.keep), auto.mask
    for index in rng.integers(0, auto.k, size=12):
        i = int(index)
        keep ^= {i}
        nxt = session.run(auto_recipe(keep=sorted(keep), auto=True))
        assert nxt.recipe.auto and nxt.keep == sorted(keep)
        own = auto.labels == i
        if i in keep:  # put in: never removes a pixel; an automatically kept cluster gets its automatic pixels
            # back, another one all its pixels inside the allowed area
            assert not (mask & ~nxt.mask).any() and nxt.cluster_stats[i].kept
            allowed = session.object_prior if session.precise else ~session.sure_bg
            if i in auto.keep:
                assert np.array_equal(nxt.mask[own], auto.mask[own])
            else:
                assert nxt.mask[own & allowed].all()
        else:  # taken out: never adds a pixel; an automatically kept cluster loses all its pixels, another
            # one (put in by a key before) goes back to the automatic cutout's pixels of it
            assert not (nxt.mask & ~mask).any() and not nxt.cluster_stats[i].kept
            expected = np.zeros(int(own.sum()), bool) if i in auto.keep else auto.mask[own]
            assert np.array_equal(nxt.mask[own], expected)
        mask = nxt.mask
    # The same keys pressed back return the automatic cutout exactly; a replay of the recipe gives the same.
    back = session.run(auto_recipe(keep=auto.keep, auto=True))
    assert np.array_equal(back.mask, auto.mask)
    again = session.run(nxt.recipe)
    assert np.array_equal(again.mask, nxt.mask)


def test_keys_on_a_box_crop_are_monotone() -> None:
    _check_keys(_box_session())


def test_keys_on_an_outline_crop_act_inside_the_outline() -> None:
    rgb, _meta, gt = make_crop("polygon")
    session = CleanupSession(rgb, gt, np.zeros_like(gt), precise=True)
    result = session.run()
    assert result.precise
    _check_keys(session)


def test_dropping_the_background_cluster_never_makes_the_cutout_bigger() -> None:
    """The issue's report: dropping the obvious background cluster added ground patches (40% -> 45% kept)."""
    session = _box_session()
    auto = session.run(auto_recipe())
    outside = [s for s in auto.cluster_stats if not s.kept]
    biggest_out = max(outside, key=lambda s: s.share).index  # the ground, mostly outside the cutout
    # Put it in, then out again: the cutout never grows when a cluster is taken out.
    with_it = session.run(auto_recipe(keep=sorted([*auto.keep, biggest_out]), auto=True))
    without = session.run(auto_recipe(keep=auto.keep, auto=True))
    assert with_it.coverage >= auto.coverage >= without.coverage - 1e-12
    for kept in auto.keep:
        dropped = session.run(auto_recipe(keep=[i for i in auto.keep if i != kept], auto=True))
        assert dropped.coverage <= auto.coverage


def test_legend_stats_report_share_inside_the_final_cutout() -> None:
    session = _box_session()
    result = session.run()
    for stat in result.cluster_stats:
        own = (result.labels == stat.index) & ~session.sure_bg  # the keys act outside the margin of a box
        assert abs(stat.inside - (result.mask & own).sum() / max(int(own.sum()), 1)) < 1e-9
        assert stat.kept == (stat.index in result.keep)


def _partly_kept_cluster(session: CleanupSession) -> tuple[int, CleanupResult]:
    auto = session.run(auto_recipe())
    partial = [s for s in auto.cluster_stats if 0.05 < s.auto_inside < 0.95]
    assert partial, "the test crop should have a cluster the automatic cutout has only partly"
    return partial[0].index, auto


def test_a_partly_kept_cluster_can_be_put_wholly_in_or_taken_wholly_out() -> None:
    for session in (_box_session(), _outline_session()):
        i, auto = _partly_kept_cluster(session)
        own = auto.labels == i
        allowed = session.object_prior if session.precise else ~session.sure_bg
        stat = auto.cluster_stats[i]
        assert stat.inside == stat.auto_inside and stat.auto_kept == (i in auto.keep)
        whole = session.run(auto_recipe(keep=auto.keep, auto=True, all_in=[i]))
        gone = session.run(auto_recipe(keep=auto.keep, auto=True, all_out=[i]))
        # Wholly in: only this cluster's pixels are added, all of those inside the allowed area.
        assert not (auto.mask & ~whole.mask).any() and whole.mask[own & allowed].all()
        assert np.array_equal(whole.mask[~own], auto.mask[~own]) and i in whole.keep
        # Wholly out: only this cluster's pixels are removed, every one of them.
        assert not (gone.mask & ~auto.mask).any() and not gone.mask[own].any()
        assert np.array_equal(gone.mask[~own], auto.mask[~own]) and i not in gone.keep
        assert whole.cluster_stats[i].inside == 1.0 and gone.cluster_stats[i].inside == 0.0
        assert all(a.auto_inside == b.auto_inside for a, b in zip(auto.cluster_stats, gone.cluster_stats, strict=True))
        # Out wins over in; the saved recipe (through JSON, as meta.json keeps it) replays the same cutout.
        both = session.run(auto_recipe(keep=auto.keep, auto=True, all_in=[i], all_out=[i]))
        assert np.array_equal(both.mask, gone.mask)
        for result in (whole, gone):
            again = session.run(CleanupRecipe.model_validate_json(result.recipe.model_dump_json()))
            assert np.array_equal(again.mask, result.mask) and not again.automatic


def _outline_session() -> CleanupSession:
    rgb, _meta, gt = make_crop("polygon")
    return CleanupSession(rgb, gt, np.zeros_like(gt), precise=True)


def test_pressing_keys_goes_round_the_states_the_legend_shows() -> None:
    """keys.press on real results: a partly kept cluster out/in/back (in/out/back when mostly out), others toggle."""
    for session in (_box_session(), _outline_session()):
        auto = session.run(auto_recipe())
        for stat in auto.cluster_stats:
            result, masks = auto, [auto.mask]
            for _ in range(3 if partly_kept(stat) else 2):
                result = session.run(press(result.recipe, result.keep, result.cluster_stats[stat.index]))
                masks.append(result.mask)
            shares = [m[auto.labels == stat.index].mean() for m in masks]
            assert result.automatic and np.array_equal(result.mask, auto.mask), stat.index  # back where it began
            for before, after in zip(masks, masks[1:], strict=False):
                assert not (after & ~before).any() or not (before & ~after).any()  # only adds or only removes
            if partly_kept(stat):
                assert (shares[1] == 0.0) == stat.auto_kept and (shares[2] == 0.0) != stat.auto_kept
