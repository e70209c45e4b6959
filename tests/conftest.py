"""Shared fixtures: where the real test inputs live, and fresh workspaces."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# ../shared beside the checkout (CI clones main with shared/ beside it); GARBTUI_SHARED overrides.
SHARED = Path(os.environ.get("GARBTUI_SHARED", REPO.parent / "shared")).resolve()
LABELSTUDIO = SHARED / "labelstudio"
PHOTOS = SHARED / "photos"
SAMPLE_DATA = REPO / "sample_data"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"test inputs not found at {SHARED}; set GARBTUI_SHARED")
    return SHARED


@pytest.fixture
def tmp_ws(tmp_path: Path):
    from garbtui.core.workspace.store import Workspace

    return Workspace.create(tmp_path / "ws")
