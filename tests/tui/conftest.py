"""TUI test fixtures: a fresh copy of the sample workspace per test, and no access to the user's config."""

from __future__ import annotations

import asyncio
import inspect
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import PHOTOS, SAMPLE_DATA

SAMPLE_WS = SAMPLE_DATA / "workspace"


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Settings go to a throwaway folder, images are half-cells: no test touches $HOME or the terminal.
    monkeypatch.setenv("GARBTUI_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("GARBTUI_IMAGE_PROTOCOL", "halfcell")


@pytest.fixture
def sample_ws(tmp_path: Path) -> Path:
    """A private copy of sample_data/workspace (the repository copy is never modified)."""
    if not (SAMPLE_WS / "workspace.json").is_file():
        pytest.fail(f"sample workspace missing at {SAMPLE_WS}")
    target = tmp_path / "ws"
    shutil.copytree(SAMPLE_WS, target, ignore=shutil.ignore_patterns(".lock"))
    return target


@pytest.fixture
def clean_photo() -> Path:
    path = PHOTOS / "clean" / "udacity_p1_solidYellowCurve2.jpg"
    if not path.is_file():
        pytest.fail(f"test photo missing: {path}")
    return path


async def wait_for(pilot, condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Let the app run until `condition()` holds (thread workers finish in their own time)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.02)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run `async def` tests in a fresh event loop (no async plugin needed)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(pyfuncitem.obj(**args))
    return True
