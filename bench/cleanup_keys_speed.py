"""Speed of what issue 14 added, at 256² / 512² / 1024²: the confidence, and a cluster key on the automatic cutout.

Same crop as bench/cleanup_speed.py (the drink can, box prior, 15% margin, resized). Timed per size, each
median of --repeat runs (thread CPU time too: the machine is shared): the k-means step, the whole automatic
cleanup (now with the confidence), the confidence alone (CleanupResult.timings["quality"]), a cluster key
on the automatic cutout (CleanupSession on a cached clustering: what the screen runs per key), and, as the
baseline in the same process, the key as it was before (the chosen clusters refined again by GrabCut,
recipe auto=False). Targets at 512²: k-means <= 10 ms, whole cleanup <= 60 ms, key <= 50 ms.

    nice python bench/cleanup_keys_speed.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from cleanup_speed import crop_at  # noqa: E402 - imported after the sys.path line above

from garbtui.core.cleanup import CleanupSession, auto_recipe  # noqa: E402 - imported after the sys.path line above
from garbtui.core.cleanup.features import color_codes  # noqa: E402 - imported after the sys.path line above
from garbtui.core.cleanup.kmeans import cluster_pixels  # noqa: E402 - imported after the sys.path line above
from garbtui.core.workspace.models import CleanupRecipe  # noqa: E402 - imported after the sys.path line above


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall and thread-CPU seconds of `repeat` calls after a warm-up call."""
    fn()
    wall, cpu = [], []
    for _ in range(repeat):
        c0, t0 = time.thread_time(), time.perf_counter()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def measure(size: int, recipe: CleanupRecipe, repeat: int) -> str:
    """One table line for a size x size crop."""
    rgb, box, margin = crop_at(size)
    km = timed(lambda: cluster_pixels(None, rgb.shape[:2], recipe.k, recipe.seed, recipe.sample_size,
                                      color_codes(rgb, "lab")), repeat)
    whole = timed(lambda: CleanupSession(rgb, box, margin).run(recipe), repeat)
    quality = statistics.median(CleanupSession(rgb, box, margin).run(recipe).timings["quality"] for _ in range(3))
    session = CleanupSession(rgb, box, margin)
    auto = session.run(recipe)
    keys = [sorted(set(auto.keep) ^ {i}) or [i] for i in range(recipe.k)]
    presses = iter(range(1 << 30))

    def press(auto_flag: bool) -> None:
        # A different key each time, uncached: the first press of that key, as on screen.
        for key in [k for k in session._masks if k[0] in ("adjusted", "manual")]:  # noqa: SLF001 - uncached key masks
            del session._masks[key]  # noqa: SLF001 - the automatic cutout stays cached, as on screen
        session.run(recipe.model_copy(update={"keep": keys[next(presses) % recipe.k], "auto": auto_flag}))

    new = timed(lambda: press(True), repeat)
    old = timed(lambda: press(False), repeat)

    def cell(t: tuple[float, float]) -> str:
        return f"{t[0] * 1e3:6.1f}/{t[1] * 1e3:5.1f}"

    return (f"{size:>5}² {cell(km):>14} {cell(whole):>14} {quality * 1e3:>14.1f} {cell(new):>14} {cell(old):>14}"
            f" {new[1] / max(old[1], 1e-9):>10.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    recipe = auto_recipe()
    print(f"k={recipe.k}; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; median wall / thread-CPU ms of "
          f"{args.repeat} runs")
    print(f"{'size':>6} {'k-means':>14} {'whole auto':>14} {'confidence':>14} {'key (new)':>14} {'key (before)':>14}"
          f" {'new/before':>11}")
    for size in (256, 512, 1024):
        print(measure(size, recipe, args.repeat))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
