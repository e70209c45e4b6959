"""`generate --engine dask` on a LocalCluster of 2 workers writes exactly what the local run writes."""

from __future__ import annotations

from pathlib import Path

from garbtui.core.generate.recipe import RunSettings
from garbtui.core.generate.runner import generate_dataset
from tests.functional.test_generate_cli import make_workspace, tree


def test_dask_output_equals_local_output(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    settings = RunSettings(seed=5, size=(320, 240), per_image=(2, 4), val_fraction=0.25)
    local = generate_dataset(ws, tmp_path / "local", 8, settings, workers=1)
    seen: list[int] = []
    dask = generate_dataset(ws, tmp_path / "dask", 8, settings, workers=2, engine="dask",
                            progress=lambda done, total, note="": seen.append(done))
    assert dask.rendered == local.rendered == 8
    assert seen[-1] == 8 and seen == sorted(seen)
    assert tree(tmp_path / "dask") == tree(tmp_path / "local")
    # Resuming a finished run on Dask renders nothing and changes nothing.
    again = generate_dataset(ws, tmp_path / "dask", 8, settings, workers=2, engine="dask")
    assert again.rendered == 0 and again.reused == 8
    assert tree(tmp_path / "dask") == tree(tmp_path / "local")
