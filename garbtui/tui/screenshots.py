"""Make the README screenshots with the app itself: `python -m garbtui.tui.screenshots [OUT_DIR [WxH]]`.

The README's are 160x46 (the default); `docs/screenshots/80x24` holds the same walk at a default SSH
window's 80x24 (`python -m garbtui.tui.screenshots docs/screenshots/80x24 80x24`).

Works on a fresh copy of the sample workspace (half-cell images, fixed size), so the pictures are
reproducible and the repository copy is never touched.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.pilot import Pilot

    from garbtui.core.workspace.store import Workspace
    from garbtui.tui.screens.placement import PlacementScreen

SIZE = (160, 46)


async def _until(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the app did not get there")
        await pilot.pause(0.05)


async def _shoot(out: Path, ws: Path, size: tuple[int, int] = SIZE) -> list[Path]:
    from garbtui.core.cleanup import CleanupSession
    from garbtui.core.workspace.store import Workspace
    from garbtui.tui import GarbApp
    from garbtui.tui.screens.cleanup import CleanupScreen
    from garbtui.tui.screens.placement import PlacementScreen
    from garbtui.tui.widgets.image_view import ImageView

    made: list[Path] = []
    workspace = Workspace.open(ws)
    # Two crops already cleaned, so the queue shows both states when filtered to "all".
    for crop_id in workspace.crop_ids()[-2:]:
        result = CleanupSession.from_workspace(workspace, crop_id).run()
        workspace.save_proc(crop_id, result.rgba, result.recipe)

    def save(app: GarbApp, name: str) -> None:
        app.save_screenshot(filename=name, path=str(out))
        made.append(out / name)

    app = GarbApp(ws, image_protocol="halfcell", theme="garb-dark", remember_theme=False)
    async with app.run_test(size=size) as pilot:
        app.sub_title = "demo workspace"
        raw = app.screen.query_one("#raw-view", ImageView)
        await _until(pilot, lambda: raw.shown_key is not None)
        await pilot.pause(0.3)
        save(app, "queue.svg")
        await pilot.press("f", "f", "end")  # all crops; a cleaned one: raw and cutout side by side
        await _until(pilot, lambda: app.screen.query_one("#cutout-view", ImageView).shown_key is not None)
        await pilot.pause(0.3)
        save(app, "queue-done.svg")
        await pilot.press("x", "home", "enter")
        await _until(pilot, lambda: isinstance(app.screen, CleanupScreen))
        screen = app.screen
        assert isinstance(screen, CleanupScreen)
        await pilot.press("c")
        await _until(pilot, lambda: screen.result is not None and screen.shown_generation == screen.generation)
        await pilot.pause(0.3)
        save(app, "cleanup.svg")
        await pilot.press("escape")  # the cutout is not saved: leaving asks first
        await _until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmDialog")
        await pilot.press("y", "i")
        await _until(pilot, lambda: app.screen.__class__.__name__ == "ImagesScreen")
        images = app.screen
        await pilot.press("down", "down", "down")  # a road photo with three objects
        await _until(pilot, lambda: images.query_one("#photo-view", ImageView).shown_key is not None)
        await pilot.pause(0.3)
        save(app, "photos.svg")
        await pilot.press("b", "down")  # a road background with its estimated horizon
        await pilot.pause(0.3)
        await _until(pilot, lambda: images.query_one("#photo-view", ImageView).shown_key is not None)
        await pilot.pause(0.3)
        save(app, "backgrounds.svg")
        await pilot.press("escape", "question_mark")
        await pilot.pause(0.3)
        save(app, "help.svg")
        await pilot.press("escape", "p")
        await _until(pilot, lambda: isinstance(app.screen, PlacementScreen))
        placement = app.screen
        assert isinstance(placement, PlacementScreen)
        await _place_two(pilot, placement, workspace)
        save(app, "placement.svg")
    light = GarbApp(ws, image_protocol="halfcell", theme="garb-light", remember_theme=False)
    async with light.run_test(size=size) as pilot:
        light.sub_title = "demo workspace"
        raw = light.screen.query_one("#raw-view", ImageView)
        await _until(pilot, lambda: raw.shown_key is not None)
        await pilot.pause(0.3)
        save(light, "queue-light.svg")
    return made


async def _place_two(pilot: Pilot[None], screen: PlacementScreen, workspace: Workspace) -> None:
    """Two cleaned fragments on the front background, typed in by keys as a user would."""
    from textual.widgets import OptionList

    from garbtui.tui.widgets.placement_fields import NumberField

    front = next(b for b in workspace.background_ids() if workspace.load_background_meta(b).scene == "front")
    backgrounds = screen.query_one("#pl-backgrounds", OptionList)
    backgrounds.focus()
    await pilot.press("home", *(["down"] * [o.id for o in backgrounds.options].index(front)))
    await _until(pilot, lambda: screen.draft.background is not None and screen.draft.background.id == front)
    fragments = screen.query_one("#pl-fragments", OptionList)
    for n, (x, y, scale) in enumerate([("430", "700", "1.2"), ("820", "820", "1")]):
        fragments.focus()
        await pilot.press("home", *(["down"] * n), "a")
        for key, value in (("x", x), ("y", y), ("scale", scale)):
            screen.query_one(f"#pf-{key}", NumberField).focus()
            await pilot.press("ctrl+a", "ctrl+k", *value)
    await pilot.app.workers.wait_for_complete()
    await _until(pilot, lambda: not screen.preview.busy)
    await pilot.pause(0.3)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "docs/screenshots").resolve()
    width, _, height = (args[1] if len(args) > 1 else f"{SIZE[0]}x{SIZE[1]}").partition("x")
    size = (int(width), int(height))
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("GARBTUI_CONFIG_DIR", tempfile.mkdtemp(prefix="garbtui-shots-config-"))
    from garbtui.sample import copy_sample

    with tempfile.TemporaryDirectory(prefix="garbtui-shots-") as tmp:
        ws = copy_sample(Path(tmp) / "demo")
        for path in asyncio.run(_shoot(out, ws, size)):
            print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
