"""TUI test fixtures: no access to the user's config or terminal (waiting for the app: tests/helpers/pilot.py).

Async tests run on pytest-asyncio (asyncio_mode = "auto" in pyproject.toml): each in its own event loop.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import PHOTOS


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Settings go to a throwaway folder, images are half-cells: no test touches $HOME or the terminal.
    monkeypatch.setenv("GARBTUI_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("GARBTUI_IMAGE_PROTOCOL", "halfcell")


@pytest.fixture
def clean_photo() -> Path:
    path = PHOTOS / "clean" / "udacity_p1_solidYellowCurve2.jpg"
    if not path.is_file():
        pytest.fail(f"test photo missing: {path}")
    return path
