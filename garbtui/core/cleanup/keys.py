"""What a cluster key does to a recipe: take the cluster out of the automatic cutout, put it in, or give it back."""

from __future__ import annotations

from typing import Literal

from garbtui.core.cleanup.session import ClusterStat
from garbtui.core.workspace.models import CleanupRecipe

# A cluster with a share of its pixels in the cutout between these is "partly in": the legend shows the
# share, and its key has a third state.
PARTIAL = (0.05, 0.95)
KeyState = Literal["auto", "in", "out"]


def partly_kept(stat: ClusterStat) -> bool:
    """The automatic cutout holds some but not nearly all of this cluster's pixels."""
    return PARTIAL[0] < stat.auto_inside < PARTIAL[1]


def press(recipe: CleanupRecipe, keep: list[int], stat: ClusterStat) -> CleanupRecipe:
    """The recipe after the key of cluster `stat.index`, from `recipe` whose cutout keeps the clusters `keep`.

    A cluster wholly in or out of the automatic cutout toggles: a kept one's key takes all its pixels out,
    another's puts all of it in. A partly kept one goes round three states, each press only taking pixels
    out or only putting them in: kept by the automatic cutout, auto -> out -> all in -> auto; not kept,
    auto -> all in -> out -> auto. The result stays an auto recipe: the keys act on the automatic cutout.
    """
    i = stat.index
    kept, all_in, all_out = set(keep), set(recipe.all_in) - {i}, set(recipe.all_out) - {i}
    if partly_kept(stat):
        order: tuple[KeyState, ...] = ("auto", "out", "in") if stat.auto_kept else ("auto", "in", "out")
        now: KeyState = "in" if i in recipe.all_in else "out" if i in recipe.all_out else "auto"
        step = order[(order.index(now) + 1) % 3]
        if step == "in":
            all_in.add(i)
        elif step == "out":
            all_out.add(i)
        in_keep = step == "in" or (step == "auto" and stat.auto_kept)
        kept = kept | {i} if in_keep else kept - {i}
    else:
        kept ^= {i}
    return recipe.model_copy(update={"keep": sorted(kept), "auto": True, "all_in": sorted(all_in),
                                     "all_out": sorted(all_out)})
