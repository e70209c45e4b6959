"""Extraction throughput against the floor: bare decoding of the same photos, in the same run.

Usage: python bench/extract.py [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("GARBTUI_SHARED", REPO.parent / "shared")).resolve()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from garbtui.core.extract.crops import EXTRACT_THREADS, ExtractOptions, extract, load_export
    from garbtui.core.extract.paths import PathResolver
    from garbtui.core.workspace.jobs import default_workers
    from garbtui.core.workspace.store import Workspace

    export = SHARED / "photos" / "annotations.json"
    parsed = load_export(export, options=ExtractOptions(scene="road"))
    resolver = PathResolver(base_dir=export.parent)
    photos = sorted({resolver.resolve(item.image_ref) for item in parsed.items})
    objects = sum(len(item.regions) for item in parsed.items)

    def bare_decode() -> None:
        for p in photos:
            cv2.imdecode(np.fromfile(str(p), dtype=np.uint8), cv2.IMREAD_COLOR)

    def run_extract(workers: int | None = None) -> float:
        """Seconds for one extraction into a fresh workspace (making and deleting the folder not counted)."""
        tmp = Path(tempfile.mkdtemp(prefix="garbtui-bench-"))
        try:
            ws = Workspace.create(tmp / "ws")
            t = time.perf_counter()
            extract(ws, parsed, resolver, ExtractOptions(scene="road"), workers=workers)
            return time.perf_counter() - t
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def rerun_noop(ws_root: Path) -> None:
        extract(Workspace.open(ws_root), parsed, resolver, ExtractOptions(scene="road"))

    decode_t, extract_t, single_t, noop_t = [], [], [], []
    keep = Path(tempfile.mkdtemp(prefix="garbtui-bench-keep-"))
    extract(Workspace.create(keep / "ws"), parsed, resolver, ExtractOptions(scene="road"))
    for _ in range(args.repeats):
        t = time.perf_counter()
        bare_decode()
        decode_t.append(time.perf_counter() - t)
        extract_t.append(run_extract())
        single_t.append(run_extract(workers=1))
        t = time.perf_counter()
        rerun_noop(keep / "ws")
        noop_t.append(time.perf_counter() - t)
    shutil.rmtree(keep, ignore_errors=True)
    d, e, one, n = (statistics.median(x) for x in (decode_t, extract_t, single_t, noop_t))
    print(f"{len(photos)} photos, {objects} objects (shared/photos/annotations.json), median of {args.repeats}")
    print(f"bare decode (floor)  {d * 1000:8.1f} ms   {len(photos) / d:6.1f} images/s")
    threads = default_workers(EXTRACT_THREADS)
    print(f"extract ({threads} threads)  {e * 1000:8.1f} ms   {len(photos) / e:6.1f} images/s   "
          f"ratio to floor {e / d:.2f}x (target <= 1.5x)")
    print(f"extract, 1 thread    {one * 1000:8.1f} ms   {len(photos) / one:6.1f} images/s   ratio to floor {one / d:.2f}x "
          "(decode + PNG-encode of the crops + fsync of every file, one after another)")
    print(f"re-run (no-op)       {n * 1000:8.1f} ms   ratio to floor {n / d:.2f}x")


if __name__ == "__main__":
    main()
