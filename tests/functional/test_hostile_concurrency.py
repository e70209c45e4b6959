"""Lost work and faults in time: a colleague saving while garbtui works, two garbtui runs at once, Ctrl-C.

Each test runs garbtui in real processes. Where an ordering matters, the test holds the item's lock so the
other process is seen waiting on it (its open file descriptors name the lock file) before the test acts:
no sleeps that guess how fast the machine is.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from garbtui.cli import main
from garbtui.core.cleanup.batch import CLAIM_LOCK
from garbtui.core.workspace.check import check_workspace
from garbtui.core.workspace.models import Placement, Scene
from garbtui.core.workspace.store import Workspace
from tests.conftest import PHOTOS, REPO, SAMPLE_DATA

HIGHWAY = PHOTOS / "clean" / "udacity_adv_straight_lines1.jpg"
ROAD_BG = "udacity_adv_straight_lines1-35258e"


def copy_sample(root: Path) -> Workspace:
    shutil.copytree(SAMPLE_DATA / "workspace", root, ignore=shutil.ignore_patterns(".lock", ".*.lock"))
    return Workspace.open(root)


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "garbtui", *args], env={**os.environ, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen[str], timeout: float = 240) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def wait_until(cond: object, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]  # a callable; kept loose for lambdas
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def holds_open(proc: subprocess.Popen[str], path: Path) -> bool:
    """Whether the process has `path` open (it is waiting on that lock, or holds it)."""
    try:
        fds = os.listdir(f"/proc/{proc.pid}/fd")
    except FileNotFoundError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{proc.pid}/fd/{fd}") == str(path):
                return True
        except OSError:
            continue
    return False


# -- render never overwrites a newer scene.json -------------------------------------------------------------------
@pytest.fixture
def scene_ws(tmp_path: Path) -> Workspace:
    ws = copy_sample(tmp_path / "ws")
    crop = ws.crop_ids()[0]
    assert main(["clean", "-w", str(ws.root), crop]) == 0
    ws.save_scene(Scene(id="s1", background_id=ROAD_BG, placements=[Placement(crop_id=crop, x=500, y=600)]))
    return ws


@pytest.mark.parametrize("meanwhile", ["newer save", "deleted", "saved through a copy"])
def test_render_keeps_a_scene_saved_while_it_rendered(scene_ws: Workspace, tmp_path: Path, meanwhile: str) -> None:
    ws = scene_ws
    folder = ws.scene_dir("s1")
    target = folder / "scene.json"
    if meanwhile == "saved through a copy":  # rendering a copy of the scene kept elsewhere
        copy = tmp_path / "copy" / "scene.json"
        copy.parent.mkdir()
        shutil.copyfile(target, copy)
        target_arg = ["render", str(copy), "-w", str(ws.root)]
    else:
        target_arg = ["render", str(folder)]
    newer = ws.load_scene("s1").model_copy(update={"seed": 99})
    with ws.lock("s1", "scenes"):  # the render loads the scene, renders, then waits here to commit
        proc = start(*target_arg)
        wait_until(lambda: holds_open(proc, folder / ".lock") or proc.poll() is not None, "render to wait")
        if meanwhile == "deleted":
            target.unlink()
        else:
            ws.save_scene(newer)  # a colleague's save (its own lock file: no deadlock with ours)
    rc, _, err = finish(proc)
    assert rc == 3 and "saved by someone else while this was working on it" in err and "Traceback" not in err, err
    assert not (folder / "render.jpg").exists() and not (folder / "labels").exists()
    if meanwhile == "deleted":
        assert not target.exists()
    else:
        assert ws.load_scene("s1").seed == 99  # theirs is the scene.json, not a backup
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    if meanwhile != "deleted":
        rc, _, err = finish(start("render", str(folder), "-q"))
        assert rc == 0, err  # run again, it renders the version on disk
        assert (folder / "render.jpg").is_file() and check_workspace(ws) == []


# -- two `background add` at once: a typed horizon survives ------------------------------------------------------
@pytest.mark.parametrize("order", ["typed first", "estimate first"])
def test_two_background_adds_at_once_keep_the_typed_horizon(tmp_path: Path, order: str) -> None:
    ws = copy_sample(tmp_path / "ws")
    bg_id = "highway"
    folder = ws.background_dir(bg_id)
    base = ["background", "add", str(HIGHWAY), "-w", str(ws.root), "--scene", "road", "--id", bg_id]
    typed = [*base, "--horizon", "400", "--camera-height", "2.5"]
    runs = [typed, base] if order == "typed first" else [base, typed]
    with ws.lock(bg_id, "backgrounds"):
        procs = []
        for args in runs:
            procs.append(start(*args))
            # Each add waits on the background's lock before deciding its meta: both are queued there.
            wait_until(lambda: holds_open(procs[-1], folder / ".lock") or procs[-1].poll() is not None, "add to wait")
    for proc in procs:
        rc, _, err = finish(proc)
        assert rc == 0 and "Traceback" not in err, err
    meta = ws.load_background_meta(bg_id)
    assert meta.horizon_row == 400 and not meta.horizon_estimated and meta.camera_height_m == 2.5
    assert check_workspace(ws) == []


def test_a_background_photo_opencv_cannot_analyse_is_refused_or_skipped(tmp_path: Path) -> None:
    ws = copy_sample(tmp_path / "ws")
    cases = {"line.png": (100_000, 1), "column.png": (1, 5000), "thin.png": (2000, 15), "tiny.png": (3, 3)}
    paths = []
    for name, (w, h) in cases.items():
        Image.fromarray(np.full((h, w, 3), 90, np.uint8)).save(tmp_path / name)
        paths.append(str(tmp_path / name))
    flat = tmp_path / "flat.png"  # a usable size, but nothing to estimate a horizon from
    Image.fromarray(np.full((120, 160, 3), 90, np.uint8)).save(flat)
    before = set(ws.background_ids())
    proc = subprocess.run([sys.executable, "-m", "garbtui", "background", "add", *paths, str(flat), "-w", str(ws.root),
                           "--scene", "road"], env={**os.environ, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    for name in cases:
        assert name in proc.stderr and "a background needs at least 16 px each way" in proc.stderr
    added = set(ws.background_ids()) - before
    assert len(added) == 1  # the flat photo: added, its horizon left for the user to set
    assert ws.load_background_meta(added.pop()).horizon_row is None
    # Nothing half-made: every background folder has its photo and its meta.
    for bg in ws.background_ids():
        assert (ws.background_dir(bg) / "meta.json").is_file()
    assert check_workspace(ws) == []


# -- two `clean` runs at once share the work -------------------------------------------------------------------
def test_two_clean_runs_at_once_share_the_work(tmp_path: Path) -> None:
    ws = copy_sample(tmp_path / "ws")
    pending = [c for c in ws.crop_ids() if not ws.proc_path(c).exists()]
    assert len(pending) >= 6
    first = pending[0]
    with ws.lock(first, name=CLAIM_LOCK):  # a third cleaner is busy with the first crop the whole time
        procs = [start("clean", "-w", str(ws.root), "--workers", "2") for _ in range(2)]
        results = [finish(p, timeout=300) for p in procs]
    cleaned = 0
    for rc, out, err in results:
        assert rc == 0 and "Traceback" not in err and "failed" not in out, (out, err)
        cleaned += int(out.split("cleaned ")[1].split(" of")[0])
        assert "left to another process" in out
    assert cleaned == len(pending) - 1  # every crop once, none twice; the busy one left to its cleaner
    for crop in pending[1:]:
        assert ws.proc_path(crop).is_file()
        assert not list(ws.crop_dir(crop).glob("proc.bak*")), crop  # nobody redid another's crop
    assert not ws.proc_path(first).exists()


# -- Ctrl-C --------------------------------------------------------------------------------------------------------
@pytest.fixture
def big_export(tmp_path: Path) -> Path:
    """16 photos with 12 boxes each: enough work that Ctrl-C lands in the middle."""
    rng = np.random.default_rng(7)
    tasks = []
    for n in range(16):
        path = tmp_path / "files" / f"p{n:02d}.jpg"
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (600, 800, 3), dtype=np.uint8)).save(path, quality=85)
        result = [{"id": f"r{n}-{k}", "type": "rectanglelabels", "from_name": "label", "to_name": "image",
                   "value": {"x": 2 + 8 * (k % 12), "y": 5 + 3 * k, "width": 7, "height": 20, "rectanglelabels": ["can"]}}
                  for k in range(12)]
        tasks.append({"id": n, "data": {"image": f"/data/local-files/?d={path.name}"},
                      "annotations": [{"id": n, "result": result}]})
    export = tmp_path / "big.json"
    export.write_text(json.dumps(tasks))
    return export


def crops_in(ws: Path) -> int:
    return len(list((ws / "crops").glob("*/meta.json"))) if (ws / "crops").is_dir() else 0


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_stops_extract_promptly_and_a_rerun_finishes(big_export: Path, tmp_path: Path, presses: int) -> None:
    ws = tmp_path / "ws"
    args = ["extract", str(big_export), "-w", str(ws), "--local-files-root", str(big_export.parent / "files")]
    proc = start(*args)
    wait_until(lambda: crops_in(ws) > 0 or proc.poll() is not None, "the first crop")
    for _ in range(presses):
        proc.send_signal(signal.SIGINT)
        time.sleep(0.05)
    pressed = time.monotonic()
    rc, _, err = finish(proc)
    assert time.monotonic() - pressed < 15, "extract went on after Ctrl-C"
    # 130; or, when the second press lands while the process is already exiting (all its output written),
    # killed by SIGINT, which a shell reports as 130 too.
    assert rc in (130, -signal.SIGINT) and "Traceback" not in err, err
    assert "interrupted" in err
    made = crops_in(ws)
    assert 0 < made < 16 * 12
    assert check_workspace(Workspace.open(ws)) == []  # what was made is whole
    rc, _, err = finish(start(*args, "-q"), timeout=300)
    assert rc == 0, err
    assert crops_in(ws) == 16 * 12


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_stops_clean_with_workers_promptly(big_export: Path, tmp_path: Path, presses: int) -> None:
    ws = tmp_path / "ws"
    rc, _, err = finish(start("extract", str(big_export), "-w", str(ws), "--local-files-root",
                              str(big_export.parent / "files"), "-q"), timeout=300)
    assert rc == 0, err
    proc = start("clean", "-w", str(ws), "--workers", "4")
    wait_until(lambda: any((ws / "crops").glob("*/proc.png")) or proc.poll() is not None, "the first cutout")
    for _ in range(presses):
        proc.send_signal(signal.SIGINT)
        time.sleep(0.05)
    pressed = time.monotonic()
    rc, out, err = finish(proc)
    assert time.monotonic() - pressed < 15, "clean went on after Ctrl-C"
    assert rc in (130, -signal.SIGINT) and "Traceback" not in err, err
    assert "interrupted" in err
    done = len(list((ws / "crops").glob("*/proc.png")))
    assert 0 < done < 16 * 12
    assert check_workspace(Workspace.open(ws)) == []  # every saved cutout is whole
    left = list((ws / "crops").glob("*/.*.tmp"))
    if presses == 1:
        assert not left  # the crops being cleaned were saved whole, nothing half-written
    assert all(".garbtui-" in p.name for p in left)  # a second press may stop a write: garbtui's own temp names
    pending = [p.parent.name for p in (ws / "crops").glob("*/meta.json") if not (p.parent / "proc.png").exists()]
    rc, _, err = finish(start("clean", "-w", str(ws), pending[0]))
    assert rc == 0, err
    assert not list((ws / "crops").glob("*/.*.tmp"))  # the next run sweeps them
