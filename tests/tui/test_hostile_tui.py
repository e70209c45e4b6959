"""The app on a damaged or hostile workspace: files that are not small regular files, markup and escape
sequences in what it draws, and quitting while crop metas are still being read."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest

from garbtui.core.workspace.store import Workspace
from garbtui.tui import GarbApp
from garbtui.tui.widgets.crop_list import CropList
from tests.helpers.pilot import wait_for

SIZE = (160, 48)


def plant(path: Path, kind: str) -> None:
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path.symlink_to("/dev/zero")
    elif kind == "endless":
        path.write_bytes(b"")
        os.truncate(path, 65 << 20)


@pytest.mark.parametrize("kind", ["fifo", "device", "endless"])
async def test_a_meta_that_is_not_a_small_regular_file_is_a_broken_row_not_a_frozen_app(sample_ws: Path,
                                                                                         kind: str) -> None:
    ws = Workspace.open(sample_ws)
    crop = ws.crop_ids()[0]
    plant(ws.crop_dir(crop) / "meta.json", kind)
    app = GarbApp(sample_ws)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: getattr(app.screen, "metas_done", False), timeout=10)
        row = app.queue.rows[crop]
        assert row.status == "broken" and ("not a regular file" in row.reason or "over the limit" in row.reason), row
        started = time.monotonic()
        await pilot.press("q")
    assert time.monotonic() - started < 5


async def test_names_with_markup_and_escapes_are_drawn_as_text(sample_ws: Path) -> None:
    ws = Workspace.open(sample_ws)
    crops = ws.crop_ids()
    hostile = ["[bold red]can[/]", "[/]", "bottle [link=file:///etc/passwd]x[/link]"]
    for crop, label in zip(crops, hostile, strict=False):
        path = ws.crop_dir(crop) / "meta.json"
        meta = json.loads(path.read_text())
        meta["label"] = label
        meta["task_id"] = "7\\x1b]0;owned\\x07"  # how extract stores a task id with ESC and BEL: escaped
        path.write_text(json.dumps(meta))
    app = GarbApp(sample_ws)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.screen.metas_done, timeout=10)
        crop_list = app.screen.query_one(CropList)
        lines = [crop_list.render_line(y).text for y in range(min(crop_list.size.height, 20))]
        drawn = "\n".join(lines)
        assert "[bold red]can[/]" in drawn or "[bold red]can" in drawn  # shown literally, not as styling
        for crop in crops[: len(hostile)]:
            app.screen._show_row(crop)
            await pilot.pause()
            info = str(app.screen.query_one("#crop-info").render())
            assert "\x1b" not in info and "\x07" not in info
        await pilot.press("q")


async def test_quit_does_not_wait_for_the_meta_reader(tmp_path: Path, sample_ws: Path) -> None:
    """Many crops (hard links of one crop's files): `q` right after the first paint ends the app without
    reading every meta first."""
    ws = Workspace.open(sample_ws)
    source = ws.crop_dir(ws.crop_ids()[0])
    meta = json.loads((source / "meta.json").read_text())
    n = 2000
    for i in range(n):
        crop_id = f"zz-many-{i:05d}"
        folder = sample_ws / "crops" / crop_id
        folder.mkdir()
        os.link(source / "raw.png", folder / "raw.png")
        (folder / "meta.json").write_text(json.dumps({**meta, "id": crop_id}))
    app = GarbApp(sample_ws)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: getattr(app.screen, "first_paint_at", None) is not None, timeout=30)
        await pilot.press("q")
    # What the real program does last (asyncio.run): wait for the thread workers' threads. Before the reader
    # looked at its cancellation this waited for every meta to be read (31 s at 50,000 crops).
    started = time.monotonic()
    await asyncio.get_running_loop().shutdown_default_executor()
    elapsed = time.monotonic() - started
    loaded = sum(1 for row in app.queue.rows.values() if row.loaded)
    assert elapsed < 0.5 and loaded < n, (elapsed, loaded)
