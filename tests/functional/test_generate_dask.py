"""`generate --engine dask`: workers with no access to the workspace write exactly what a local run writes;
a scheduler given by address works; a cluster whose every worker is gone stops with a clear error."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from garbtui.core.errors import GarbError
from garbtui.core.generate.recipe import RunSettings
from garbtui.core.generate.runner import generate_dataset
from tests.functional.test_generate_cli import make_workspace, tree

distributed = pytest.importorskip("distributed")

SETTINGS = RunSettings(seed=5, size=(320, 240), per_image=(2, 4), val_fraction=0.25)


class NoWorkspace(distributed.WorkerPlugin):
    """Moves the worker to a folder of its own and refuses, from then on, every file access under `root`."""

    def __init__(self, root: str, home: str) -> None:
        self.root = root
        self.home = home

    def setup(self, worker) -> None:  # noqa: ANN001 - dask's Worker
        os.makedirs(self.home, exist_ok=True)
        os.chdir(self.home)
        root = self.root

        def refuse(event: str, args: tuple) -> None:
            if event in ("open", "os.listdir", "os.scandir", "os.chdir", "shutil.copyfile") and args:
                path = args[0]
                if isinstance(path, (str, bytes, os.PathLike)):
                    text = os.fsdecode(path)
                    if os.path.abspath(text).startswith(root):
                        raise PermissionError(f"worker may not read the workspace: {text}")

        sys.addaudithook(refuse)  # for the worker process's lifetime: it is closed with the cluster


def test_workers_without_the_workspace_write_what_a_local_run_writes(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    local = generate_dataset(ws, tmp_path / "local", 8, SETTINGS, workers=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  local_directory=str(tmp_path / "dask-space")) as cluster, \
            distributed.Client(cluster) as client:
        client.register_plugin(NoWorkspace(str(ws.root), str(tmp_path / "elsewhere")))
        cwd = client.run(os.getcwd)
        assert set(cwd.values()) == {str(tmp_path / "elsewhere")}
        denied = client.run(lambda: _can_read(str(ws.root / "workspace.json")))
        assert set(denied.values()) == {False}  # the guard is on in every worker
        seen: list[int] = []
        dask = generate_dataset(ws, tmp_path / "dask", 8, SETTINGS, engine="dask", scheduler=cluster.scheduler_address,
                                progress=lambda done, total, note="": seen.append(done))
    assert dask.rendered == local.rendered == 8
    assert seen[-1] == 8 and seen == sorted(seen)
    assert tree(tmp_path / "dask") == tree(tmp_path / "local")


def _can_read(path: str) -> bool:
    try:
        with open(path, "rb"):
            return True
    except PermissionError:
        return False


def test_a_local_cluster_run_resumes_and_changes_nothing(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    local = generate_dataset(ws, tmp_path / "local", 6, SETTINGS, workers=1)
    first = generate_dataset(ws, tmp_path / "dask", 6, SETTINGS, workers=2, engine="dask")
    assert first.rendered == local.rendered == 6
    again = generate_dataset(ws, tmp_path / "dask", 6, SETTINGS, workers=2, engine="dask")
    assert again.rendered == 0 and again.reused == 6
    assert tree(tmp_path / "dask") == tree(tmp_path / "local")


def test_every_worker_gone_stops_with_a_clear_error_and_keeps_the_images(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None)
    try:
        stopped = threading.Event()

        def progress(done: int, total: int, note: str = "") -> None:
            if done >= 2 and not stopped.is_set():
                stopped.set()
                threading.Thread(target=cluster.scale, args=(0,), daemon=True).start()  # every worker leaves

        start = time.monotonic()
        with pytest.raises(GarbError) as err:
            generate_dataset(ws, tmp_path / "out", 40, SETTINGS, engine="dask", scheduler=cluster.scheduler_address,
                             progress=progress, worker_timeout=2.0)
        assert time.monotonic() - start < 60
    finally:
        cluster.close()
    assert "no Dask worker for 2 s" in err.value.message and "rerun to resume" in err.value.message
    kept = list((tmp_path / "out" / "recipes").glob("*.json"))
    assert len(kept) >= 2  # what was done stays: the same command resumes it
    assert not (tmp_path / "out" / "coco.json").exists()
