"""The README workflow on the sample workspace, as a new user runs it: installed commands, no test packages.

Run with the python of a venv that has only `pip install -e .`:

    .venv/bin/python .ci/smoke.py [--root DIR] [--keep]

Each step runs the venv's own `garbtui` console script; the TUI is opened headless with Textual's Pilot
(enter, c, s) and must save a cutout. Exits non-zero at the first failing step, printing its output.
tests/functional/test_permissions.py runs this same script under several umasks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GARBTUI = [str(Path(sys.executable).with_name("garbtui"))]


def step(*args: str, expect: tuple[int, ...] = (0,)) -> str:
    """Run one garbtui command; stop the smoke run when it does not exit as expected."""
    started = time.monotonic()
    proc = subprocess.run([*GARBTUI, *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "GARBTUI_IMAGE_PROTOCOL": "halfcell"})
    took = time.monotonic() - started
    print(f"smoke: garbtui {' '.join(args)}  -> exit {proc.returncode} in {took:.1f} s", flush=True)
    if proc.returncode not in expect or "Traceback" in proc.stderr:
        print(proc.stdout, proc.stderr, sep="\n", file=sys.stderr)
        raise SystemExit(f"smoke: step failed: garbtui {' '.join(args)}")
    return proc.stdout


async def tui_clean_and_save(ws: Path) -> str:
    """Open the app headless, press enter, c, s on the first pending crop; returns the crop saved."""
    from garbtui.core.workspace.store import Workspace
    from garbtui.tui import GarbApp

    workspace = Workspace.open(ws)
    crop_id = workspace.pending_crop_ids()[0]
    app = GarbApp(ws, remember_theme=False)

    async def wait(condition: Callable[[], object], what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise SystemExit(f"smoke: the TUI never got to: {what}")
            await pilot.pause(0.05)

    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        await wait(lambda: type(app.screen).__name__ == "CleanupScreen", "the cleanup screen")
        await pilot.press("c")
        screen = app.screen
        await wait(lambda: getattr(screen, "result", None) is not None, "an automatic cutout")
        await pilot.press("s")
        await wait(lambda: workspace.proc_path(crop_id).is_file(), "a saved proc.png")
        await pilot.press("escape")
        await pilot.press("q")
    return crop_id


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, help="work folder (default: a new temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    root = args.root or Path(tempfile.mkdtemp(prefix="garbtui-smoke-"))
    root.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("GARBTUI_CONFIG_DIR", str(root / "config"))
    os.environ["GARBTUI_DEMO_DIR"] = str(root / "demos")
    ws = root / "ws"
    try:
        step("--version")
        step("--help")
        step("demo", "--dir", str(ws), "--no-open")
        step("status", "-w", str(ws), "--check")
        step("extract", str(REPO / "sample_data" / "export" / "taco_sample.json"), "-w", str(root / "ws2"),
             "--local-files-root", str(REPO / "sample_data" / "export"), "-q")
        step("clean", "-w", str(ws), "--workers", "2")
        photo = root / "highway.jpg"
        shutil.copyfile(next((ws / "backgrounds").glob("udacity_adv*/image.jpg")), photo)
        step("background", "add", str(photo), "-w", str(ws), "--scene", "road")
        backgrounds = json.loads(step("background", "list", "-w", str(ws), "--json"))
        highway = next(b["id"] for b in backgrounds if b["id"].startswith("highway"))
        reference = sorted(p.name for p in (ws / "images").iterdir() if p.is_dir())[0]
        step("recreate", "-w", str(ws), "--reference", reference, "--onto", highway, "--id", "smoke", "-q")
        step("render", str(ws / "scenes" / "smoke"), "-q")
        step("generate", "-w", str(ws), "--count", "12", "--out", str(root / "dataset"), "--seed", "1",
             "--workers", "2", "--size", "640x480", "-q")
        step("doctor", "--json")
        crop_id = asyncio.run(tui_clean_and_save(root / "ws2"))  # ws2: fresh from extract, crops pending
        print(f"smoke: TUI enter, c, s saved crops/{crop_id}/proc.png", flush=True)
        step("status", "-w", str(root / "ws2"), "--check")
        step("status", "-w", str(ws), "--check")
    finally:
        if not args.keep and args.root is None:
            shutil.rmtree(root, ignore_errors=True)
    print("smoke: the README workflow ran")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
