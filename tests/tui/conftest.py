"""TUI test fixtures: no access to the user's config or terminal (waiting for the app: tests/helpers/pilot.py).

Async tests run on pytest-asyncio (asyncio_mode = "auto" in pyproject.toml): each in its own event loop.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from garbtui.core.workspace.models import CleanupRecipe
from garbtui.core.workspace.store import Workspace
from tests.conftest import PHOTOS, cut_out

# Cleaned by placement_ws; the first two come from one reference photo, so `e` can recreate it.
DONE = (
    "taco_b1_000111-1c27bb7938-drink-can-0648da2d",
    "taco_b1_000111-1c27bb7938-drink-can-de33e01c",
    "taco_b1_000111-1c27bb7938-disposable-food-containe-3be6dd9b",
)


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


@pytest.fixture
def placement_ws(sample_ws: Path) -> Path:
    """The sample workspace with three crops cleaned from their annotated outlines (exact, no k-means)."""
    cut_out(Workspace.open(sample_ws), DONE, CleanupRecipe())
    return sample_ws
