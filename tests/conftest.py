"""Shared fixtures: where the real test inputs live, and fresh workspaces (empty, or copies of the sample)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import pytest

from garbtui.core.workspace.models import CleanupRecipe
from garbtui.core.workspace.store import Workspace

REPO = Path(__file__).resolve().parents[1]
# ../shared beside the checkout (CI clones main with shared/ beside it); GARBTUI_SHARED overrides.
SHARED = Path(os.environ.get("GARBTUI_SHARED", REPO.parent / "shared")).resolve()
LABELSTUDIO = SHARED / "labelstudio"
PHOTOS = SHARED / "photos"
SAMPLE_DATA = REPO / "sample_data"
SAMPLE_WS = SAMPLE_DATA / "workspace"


def copy_sample(target: Path) -> Path:
    """A private copy of sample_data/workspace at `target` (lock files left out); the repository's copy is
    never changed."""
    if not (SAMPLE_WS / "workspace.json").is_file():
        pytest.fail(f"sample workspace missing at {SAMPLE_WS}")
    shutil.copytree(SAMPLE_WS, target, ignore=shutil.ignore_patterns(".lock"))
    return target


def cut_out(ws: Workspace, crop_ids: Iterable[str] | None = None, recipe: CleanupRecipe | None = None) -> Workspace:
    """Give crops (default: every one) a proc.png cut exactly along their annotated outline: no k-means, so
    tests of what comes after cleanup do not depend on it."""
    from garbtui.core.compose.fragment import outline_cutout

    recipe = recipe if recipe is not None else CleanupRecipe(auto=False)
    for crop_id in ws.crop_ids() if crop_ids is None else crop_ids:
        ws.save_proc(crop_id, outline_cutout(ws, crop_id), recipe)
    return ws


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"test inputs not found at {SHARED}; set GARBTUI_SHARED")
    return SHARED


@pytest.fixture
def tmp_ws(tmp_path: Path) -> Workspace:
    return Workspace.create(tmp_path / "ws")


@pytest.fixture
def sample_ws(tmp_path: Path) -> Path:
    """A private copy of the sample workspace for one test."""
    return copy_sample(tmp_path / "ws")


@pytest.fixture(scope="module")
def cut_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The sample workspace with every crop cut along its outline: one copy per test module (which may add to it)."""
    return cut_out(Workspace.open(copy_sample(tmp_path_factory.mktemp("cut") / "ws")))
