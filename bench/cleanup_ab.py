"""Cleanup speed of the working tree against a git revision, interleaved in one process.

The revision's garbtui/ is unpacked (git archive) into a temporary folder as the package
`garbtui_baseline`, and both versions run the same crops turn about: a fresh session's whole automatic
cleanup, and the k-means step (Lab codes + cluster_pixels). Turn about in one process, because on a
shared or virtual machine the speed of the CPU drifts by a third between two runs a minute apart; the
per-pair ratio (this tree / baseline) is the figure to trust, the milliseconds are for scale. The crop
is bench/cleanup_speed.py's (the drink can, box prior, 15% margin) resized to each size. Targets at
512x512: k-means <= 10 ms, whole automatic cleanup <= 60 ms.

    python bench/cleanup_ab.py --baseline cc5cf6f [--sizes 256,512,1024] [--rounds 40]
"""

from __future__ import annotations

import argparse
import importlib
import io
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from cleanup_speed import crop_at  # noqa: E402 - imported after the sys.path lines above

BASELINE = "garbtui_baseline"
_IMPORT = re.compile(r"\bgarbtui(?=[.\s])")


def unpack_baseline(rev: str, into: Path) -> None:
    """The revision's garbtui/ as into/garbtui_baseline, its own imports pointed at itself."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", rev, "garbtui"],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    package = into / BASELINE
    (into / "garbtui").rename(package)
    for source in package.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        source.write_text(_IMPORT.sub(BASELINE, text), encoding="utf-8")


def steps(package: str, rgb: np.ndarray, box: np.ndarray, margin: np.ndarray) -> dict[str, Callable[[], object]]:
    """The two timed steps of one version."""
    cleanup: ModuleType = importlib.import_module(f"{package}.core.cleanup")
    features: ModuleType = importlib.import_module(f"{package}.core.cleanup.features")
    kmeans: ModuleType = importlib.import_module(f"{package}.core.cleanup.kmeans")
    recipe = cleanup.auto_recipe()
    return {
        "whole": lambda: cleanup.CleanupSession(rgb, box, margin).run(recipe),
        "k-means": lambda: kmeans.cluster_pixels(None, rgb.shape[:2], recipe.k, recipe.seed, recipe.sample_size,
                                                 features.color_codes(rgb, "lab")),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True, help="git revision to compare with (a commit, tag or branch)")
    parser.add_argument("--sizes", default="256,512,1024", help="comma-separated crop sides")
    parser.add_argument("--rounds", type=int, default=40, help="timed turns per version and step (after 3 warm-ups)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            unpack_baseline(args.baseline, Path(tmp))
        except subprocess.CalledProcessError as exc:
            print(f"cleanup_ab: git archive {args.baseline}: {exc.stderr.decode(errors='replace').strip()}", file=sys.stderr)
            return 2
        sys.path.insert(0, tmp)
        print(f"this tree vs {args.baseline}; {args.rounds} turns each, interleaved; ms per call")
        print(f"{'size':>6} {'step':8} {'baseline min/median':>20} {'this tree min/median':>21} {'ratio (median of pairs)':>24}")
        for size in (int(s) for s in args.sizes.split(",") if s):
            rgb, box, margin = crop_at(size)
            versions = {"baseline": steps(BASELINE, rgb, box, margin), "this": steps("garbtui", rgb, box, margin)}
            for name in ("whole", "k-means"):
                times: dict[str, list[float]] = {"baseline": [], "this": []}
                for turn in range(args.rounds + 3):
                    for version, fns in versions.items():
                        t0 = time.perf_counter()
                        fns[name]()
                        if turn >= 3:
                            times[version].append((time.perf_counter() - t0) * 1000)
                base, this = np.array(times["baseline"]), np.array(times["this"])
                print(f"{size:>5}² {name:8} {base.min():9.1f} / {np.median(base):6.1f}   "
                      f"{this.min():9.1f} / {np.median(this):6.1f}   {np.median(this / base):20.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
