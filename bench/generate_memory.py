"""Memory of a whole `garbtui generate` job (main process + worker processes) over 20,000 images.

The CLI runs as a child process exactly as a user starts it; the RSS of the main process and of its
whole process tree is sampled as images appear, until the dataset files are in place. Baseline: the
RSS once the first 10% of the images are written, in the same run. Flat memory means the ratio at 50%
and 100% stays near 1.0 and the slope (a least-squares line through the samples from 10% on, and the
growth per image of the main process, which holds the dataset writer) stays near 0 KB per image; the
slope times 100,000 is the projection the README quotes.

Usage: python bench/generate_memory.py [--count 20000] [--workers 2] [--size 640x480]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def tree_rss_mb(proc: psutil.Process) -> tuple[float, int]:
    """RSS of `proc` and every descendant (MB), and how many processes that is."""
    total, n = 0, 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
            n += 1
        except psutil.NoSuchProcess:
            pass
    return total / 2**20, n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--size", default="640x480")
    args = parser.parse_args()

    from garbtui.cli import main as cli

    with tempfile.TemporaryDirectory(prefix="garbtui-genmem-") as tmp_name:
        tmp = Path(tmp_name)
        ws = tmp / "ws"
        shutil.copytree(REPO / "sample_data" / "workspace", ws, ignore=shutil.ignore_patterns(".lock"))
        if cli(["clean", "-w", str(ws)]) != 0:  # generate needs cleaned fragments
            print("clean failed", file=sys.stderr)
            return 1
        out = tmp / "out"
        cmd = [sys.executable, "-m", "garbtui", "generate", "-w", str(ws), "--out", str(out), "--count",
               str(args.count), "--workers", str(args.workers), "--size", args.size, "--seed", "1", "-q"]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        start = time.perf_counter()
        child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        tree = psutil.Process(child.pid)
        marks: dict[int, float | None] = {round(args.count * f): None for f in (0.1, 0.25, 0.5, 0.75, 0.95)}
        peak, peak_procs, peak_main = 0.0, 0, 0.0
        samples: list[tuple[int, float, float]] = []  # (images done, tree MB, main process MB)
        while child.poll() is None:
            try:
                rss, nproc = tree_rss_mb(tree)
                main_rss = tree.memory_info().rss / 2**20
            except psutil.NoSuchProcess:
                break
            done = count_images(out)
            samples.append((done, rss, main_rss))
            if rss > peak:
                peak, peak_procs = rss, nproc
            peak_main = max(peak_main, main_rss)
            for mark in marks:
                if marks[mark] is None and done >= mark:
                    marks[mark] = rss
            time.sleep(0.25)
        elapsed = time.perf_counter() - start
        err = child.stderr.read() if child.stderr else ""
        if child.returncode != 0:
            print(f"generate failed ({child.returncode}): {err[-2000:]}", file=sys.stderr)
            return 1
        written = count_images(out)
    # A mark the sampler missed (the run ended between two samples) takes the last sample.
    last_rss = samples[-1][1] if samples else float("nan")
    filled = {k: (v if v is not None else last_rss) for k, v in marks.items()}
    base = filled[round(args.count * 0.1)]
    print(f"garbtui generate --count {args.count} --workers {args.workers} --size {args.size}: "
          f"{written} images in {elapsed:.1f} s ({written / elapsed:.1f}/s)")
    print(f"process tree RSS (main + {args.workers} workers + helpers), baseline at 10% of the images = "
          f"{base:.0f} MB:")
    for mark, rss in filled.items():
        print(f"  after {mark:6d} images: {rss:6.0f} MB   ratio to baseline {rss / base:.2f}")
    print(f"  peak {peak:.0f} MB over {peak_procs} processes; ratio peak / baseline {peak / base:.2f}; "
          f"main process peak {peak_main:.0f} MB")
    tail = [(d, t, m) for d, t, m in samples if d >= 0.1 * args.count]
    if len(tail) >= 3:
        tree_slope = slope([(d, t) for d, t, _ in tail])
        main_slope = slope([(d, m) for d, _, m in tail])
        print(f"slope from 10% to the end: process tree {tree_slope * 1024:+.2f} KB/image, main process "
              f"{main_slope * 1024:+.2f} KB/image; projected growth over 100,000 images: tree "
              f"{tree_slope * 1e5:+.0f} MB, main {main_slope * 1e5:+.0f} MB")
    return 0


def count_images(out: Path) -> int:
    total = 0
    for split in ("train", "val"):
        folder = out / "images" / split
        if folder.is_dir():
            total += sum(1 for _ in os.scandir(folder))
    return total


def slope(points: list[tuple[int, float]]) -> float:
    """Least-squares MB per image."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0


if __name__ == "__main__":
    raise SystemExit(main())
