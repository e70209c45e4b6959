"""Snapshot tests: the main screens at a fixed size with half-cell images (update: pytest --snapshot-update)."""

from __future__ import annotations

from pathlib import Path

from garbtui.tui import GarbApp
from garbtui.tui.widgets.image_view import ImageView
from tests.helpers.pilot import wait_for

SIZE = (140, 40)


def make_app(ws: Path, theme: str | None = None) -> GarbApp:
    app = GarbApp(ws, image_protocol="halfcell", theme=theme, remember_theme=False)
    return app


async def _home_ready(pilot) -> None:
    app = pilot.app
    app.sub_title = "sample workspace"  # the temporary path differs on every run
    await wait_for(pilot, lambda: app.screen.query_one("#raw-view", ImageView).shown_key is not None)
    await pilot.pause()


def test_queue_screen(snap_compare, sample_ws: Path) -> None:
    assert snap_compare(make_app(sample_ws), terminal_size=SIZE, run_before=_home_ready)


def test_queue_screen_light_theme(snap_compare, sample_ws: Path) -> None:
    assert snap_compare(make_app(sample_ws, "garb-light"), terminal_size=SIZE, run_before=_home_ready)


def test_cleanup_screen_after_auto_clean(snap_compare, sample_ws: Path) -> None:
    async def run_before(pilot) -> None:
        await _home_ready(pilot)
        app = pilot.app
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "CleanupScreen")
        screen = app.screen
        await wait_for(pilot, lambda: screen.query_one("#cl-raw", ImageView).shown_key is not None)
        await pilot.press("c")
        await wait_for(pilot, lambda: screen.result is not None and screen.shown_generation == screen.generation)
        await pilot.pause()

    assert snap_compare(make_app(sample_ws), terminal_size=SIZE, run_before=run_before)


def test_images_screen(snap_compare, sample_ws: Path) -> None:
    async def run_before(pilot) -> None:
        await _home_ready(pilot)
        app = pilot.app
        await pilot.press("i")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ImagesScreen")
        await pilot.press("down")  # a photo with two objects outlined
        await wait_for(pilot, lambda: app.screen.query_one("#photo-view", ImageView).shown_key is not None)
        await pilot.pause()

    assert snap_compare(make_app(sample_ws), terminal_size=SIZE, run_before=run_before)


def test_help_screen(snap_compare, sample_ws: Path) -> None:
    async def run_before(pilot) -> None:
        await _home_ready(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(make_app(sample_ws), terminal_size=SIZE, run_before=run_before)


def test_images_screen_surfaces_view(snap_compare, sample_ws: Path) -> None:  # noqa: ANN001
    async def run_before(pilot) -> None:  # noqa: ANN001
        await _home_ready(pilot)
        app = pilot.app
        await pilot.press("i")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ImagesScreen")
        await pilot.press("b")
        screen = app.screen
        await wait_for(pilot, lambda: screen.kind == "background" and screen.current_id is not None)
        await pilot.press("down")  # the highway frame
        await pilot.press("g")
        await wait_for(pilot, lambda: screen.surfaces is not None)
        await wait_for(pilot, lambda: screen.query_one("#photo-view", ImageView).shown_key is not None)
        app.clear_notifications()  # "Finding the photo's regions…" stays up for a time that depends on the load
        await pilot.pause()

    assert snap_compare(make_app(sample_ws), terminal_size=SIZE, run_before=run_before)
