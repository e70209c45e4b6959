"""The cleanup legend at 80x24: every cluster number listed with colour, share and in/out; outlines say they decide."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from garbtui.tui.app import GarbApp
from garbtui.tui.widgets.crop_list import CropList
from tests.helpers.pilot import settled


async def test_legend_lists_every_number_at_80x24_and_keys_act_inside_the_outline(sample_ws: Path) -> None:
    from garbtui.tui.screens.cleanup import CleanupScreen

    app = GarbApp(sample_ws)
    async with app.run_test(size=(80, 24)) as pilot:
        crop_id = app.screen.query_one(CropList).ids[0]
        await pilot.press("enter")
        await settled(pilot)
        screen = app.screen
        assert isinstance(screen, CleanupScreen) and screen.crop_id == crop_id
        await pilot.press("plus")  # k = 7: the issue saw 4 of 7 numbers drawn, none at 80x24
        await settled(pilot)
        result = screen.result
        assert result is not None and result.k == 7
        legend = screen.query_one("#legend")
        text = str(legend.render())
        lines = text.split("\n")
        assert all(f" {i + 1} " in text for i in range(7))
        assert legend.region.height >= len(lines) and all(len(line) <= 80 for line in lines)  # nothing cut off
        for stat in result.cluster_stats:
            assert ("in" if stat.kept else "out") in text
        if result.precise:  # the sample's crops are polygons: the screen says the outline decides
            assert "outline decides" in text
        # A key on a kept cluster takes it out of the final cutout: the cutout never grows.
        before = result.mask
        kept = result.keep[0]
        await pilot.press(str(kept + 1))
        await settled(pilot)
        after = screen.result
        assert after is not None and kept not in after.keep
        assert not (after.mask & ~before).any() and not after.mask[after.labels == kept].any()
        # A key on a cluster that is out puts all of it in, inside the outline only: the cutout never shrinks.
        out = next(st.index for st in after.cluster_stats if not st.kept and st.index != kept)
        await pilot.press(str(out + 1))
        await settled(pilot)
        added = screen.result
        assert added is not None and out in added.keep and not (after.mask & ~added.mask).any()
        if added.precise:
            prior = screen._sessions[crop_id].object_prior
            assert not (added.mask & ~after.mask & ~prior).any()


async def test_a_partly_kept_clusters_key_goes_round_three_states(sample_ws: Path) -> None:
    """Its key puts it wholly in or takes it wholly out, then gives back the automatic share: each press only adds
    or only removes, and the legend says which."""
    from garbtui.tui.screens.cleanup import CleanupScreen

    app = GarbApp(sample_ws)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        await settled(pilot)
        screen = app.screen
        assert isinstance(screen, CleanupScreen) and screen.result is not None
        auto = screen.result
        stat = next(s for s in auto.cluster_stats if 0.05 < s.auto_inside < 0.95)
        i = stat.index
        own = auto.labels == i
        shares = []
        masks = [auto.mask]
        for _ in range(3):
            await pilot.press(str(i + 1))
            await settled(pilot)
            result = screen.result
            assert result is not None
            shares.append(result.cluster_stats[i].inside)
            masks.append(result.mask)
            assert np.array_equal(result.mask[~own], auto.mask[~own])  # no other cluster moves
        first, second = (0.0, 1.0) if stat.auto_kept else (1.0, 0.0)
        assert shares == [first, second, stat.auto_inside]
        assert np.array_equal(masks[-1], auto.mask) and screen.result is not None and screen.result.automatic
        for before, after in zip(masks, masks[1:], strict=False):  # each press only adds or only removes
            assert not (after & ~before).any() or not (before & ~after).any()
        legend = str(screen.query_one("#legend").render())
        assert f"{stat.auto_inside * 100:.0f}% in" in legend
