"""Killing `garbtui clean` (and `garbtui generate`) at random points: only complete files, and a re-run finishes."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from garbtui.cli import main
from garbtui.core.workspace.atomic import sweep_temp_files
from garbtui.core.workspace.store import Workspace
from tests.conftest import REPO, SAMPLE_WS, copy_sample
from tests.functional.test_crash_safety import complete_files_only

ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def kill_mid_run(proc: subprocess.Popen, watch: Path, rng: random.Random, *, first_file: str,
                 delay: tuple[float, float], timeout: float = 60.0) -> None:
    """SIGKILL `proc` a random moment after the first file whose name ends with `first_file` (or a
    temporary file on its way to being one) shows up under `watch`."""
    before = {str(p) for p in watch.rglob(f"*{first_file}*")} if watch.exists() else set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if watch.exists() and any(str(p) not in before for p in watch.rglob(f"*{first_file}*")):
            break
        time.sleep(0.002)
    time.sleep(rng.uniform(*delay))
    # The whole job dies at once, as on a power cut: the command and any worker processes it started
    # (they share its session, see spawn()).
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def spawn(args: list[str]) -> subprocess.Popen:
    """Start garbtui in a session of its own, so a kill can reach every process of the job."""
    return subprocess.Popen([sys.executable, "-m", "garbtui", *args], env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def files_of(root: Path) -> dict[Path, bytes]:
    return {p.relative_to(root): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and p.name != ".lock" and not p.name.endswith(".tmp")}


def clean_args(ws: Path) -> list[str]:
    return ["clean", "-w", str(ws), "--workers", "2"]


@pytest.mark.slow
def test_clean_killed_anywhere_then_rerun(tmp_path: Path) -> None:
    original = files_of(SAMPLE_WS)
    reference_ws = copy_sample(tmp_path / "reference")
    assert main(clean_args(reference_ws)) == 0
    reference = files_of(reference_ws)
    crops = Workspace.open(reference_ws).crop_ids()
    rng = random.Random(7)
    partial = 0
    for attempt in range(8):  # three kills, more only while none has landed mid-job (a slow machine)
        if attempt >= 3 and partial:
            break
        ws = copy_sample(tmp_path / f"ws{attempt}")
        proc = spawn(clean_args(ws))
        kill_mid_run(proc, ws / "crops", rng, first_file="proc.png", delay=(0.0, 0.3))
        complete_files_only(ws)  # every PNG and JSON decodes
        got = files_of(ws)
        for rel, data in got.items():
            # Each file is the old version or the new one, never a third thing.
            assert data in (original.get(rel), reference.get(rel)), f"{rel} is neither old nor new"
        done = [c for c in crops if (ws / "crops" / c / "proc.png").is_file()]
        partial += 0 < len(done) < len(crops)
        for crop_id in done:  # a saved cutout always has its recipe beside it
            assert Workspace.open(ws).load_crop_meta(crop_id).cleanup is not None, crop_id
        assert main(clean_args(ws)) == 0
        assert files_of(ws) == reference, "the re-run leaves exactly what an uninterrupted run makes"
        sweep_temp_files(ws)
        assert not [p for p in ws.rglob("*.tmp")]
    assert partial, "no kill landed in the middle of the job"


def test_clean_rerun_sweeps_the_killed_runs_temporary_files(tmp_path: Path) -> None:
    ws = copy_sample(tmp_path / "ws")
    crop_id = Workspace.open(ws).crop_ids()[0]
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    leftover = ws / "crops" / crop_id / f".proc.png.garbtui-{int(dead.stdout)}-abc123.tmp"
    leftover.write_bytes(b"half a png")
    # Another program's temporary file with the same shape but no garbtui tag is never touched.
    foreign = ws / "crops" / crop_id / f".notes.txt.{int(dead.stdout)}.abc123.tmp"
    foreign.write_bytes(b"someone else's")
    assert main(clean_args(ws)) == 0
    assert not leftover.exists()
    assert foreign.read_bytes() == b"someone else's"


def generate_args(ws: Path, out: Path, count: int) -> list[str]:
    return ["generate", "-w", str(ws), "--out", str(out), "--count", str(count), "--seed", "3", "--workers", "2",
            "--size", "320x240", "-q"]


def dataset_files(out: Path) -> dict[Path, bytes]:
    """Every finished file; the folder's own absolute path (data.yaml's path:, Label Studio URLs) reads as <ROOT>."""
    here = str(out.resolve()).lstrip("/").encode()
    return {p.relative_to(out): p.read_bytes().replace(here, b"<ROOT>") for p in out.rglob("*")
            if p.is_file() and not p.name.endswith(".tmp") and not p.name.startswith(".")}


@pytest.mark.slow
def test_generate_killed_anywhere_then_rerun(tmp_path: Path) -> None:
    ws = copy_sample(tmp_path / "ws")
    assert main(clean_args(ws)) == 0  # generate needs cleaned fragments
    count = 16
    reference_out = tmp_path / "reference"
    assert main(generate_args(ws, reference_out, count)) == 0
    reference = dataset_files(reference_out)
    rng = random.Random(11)
    partial = 0
    for attempt in range(8):  # three kills, more only while none has landed mid-job (a slow machine)
        if attempt >= 3 and partial:
            break
        out = tmp_path / f"out{attempt}"
        proc = spawn(generate_args(ws, out, count))
        kill_mid_run(proc, out, rng, first_file=".jpg", delay=(0.0, 0.5))
        complete_files_only(out)
        got = dataset_files(out)
        images = [p for p in got if p.suffix == ".jpg"]
        partial += 0 < len(images) < count
        per_image = [p for p in got if p.parts[0] in ("images", "labels", "recipes")]
        for rel in per_image:  # every image, label and recipe written so far is the uninterrupted run's
            assert got[rel] == reference[rel], rel
        assert main(generate_args(ws, out, count)) == 0
        assert dataset_files(out) == reference, "the re-run completes the dataset exactly"
    assert partial, "no kill landed in the middle of the job"
    json.loads((reference_out / "coco.json").read_text())


@pytest.mark.slow
def test_generate_workers_exit_when_the_main_process_is_killed(tmp_path: Path) -> None:
    ws = copy_sample(tmp_path / "ws")
    assert main(clean_args(ws)) == 0
    out = tmp_path / "out"
    proc = spawn(generate_args(ws, out, 400))
    try:
        deadline = time.monotonic() + 60
        while not list(out.glob("images/*.jpg")) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)  # the main process only
        proc.wait()
        deadline = time.monotonic() + 4
        while group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not group_alive(proc.pid), "worker processes outlived the killed generate"
    finally:
        if group_alive(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)  # never leave the orphans behind


SAVER = """
import sys
from pathlib import Path
from garbtui.core.workspace.models import CleanupRecipe
from garbtui.core.workspace.store import Workspace
from tests.functional.test_concurrency import tagged_cutout
ws = Workspace.open(Path(sys.argv[1]))
crop_id = sys.argv[2]
for tag in range(int(sys.argv[3]), int(sys.argv[3]) + 1000):
    ws.save_proc(crop_id, tagged_cutout(ws, crop_id, tag), CleanupRecipe(seed=tag))
    print(tag, flush=True)  # reported only once save_proc has returned: this cutout is saved
"""


def test_a_save_killed_midway_never_costs_an_earlier_cutout(tmp_path: Path) -> None:
    """The TUI or clean killed while saving proc.png: every cutout saved before is still there."""
    from garbtui.core.workspace.imageio import read_rgba
    from tests.functional.test_concurrency import make_crop, tag_of

    ws = Workspace.create(tmp_path / "ws")
    make_crop(ws, "c")
    rng = random.Random(5)
    saved: list[int] = []
    for attempt in range(5):
        child = subprocess.Popen([sys.executable, "-c", SAVER, str(ws.root), "c", str(attempt * 1000)], env=ENV,
                                 stdout=subprocess.PIPE, text=True, start_new_session=True)
        first = child.stdout.readline()  # running: at least one save done
        time.sleep(rng.uniform(0.0, 0.2))
        os.killpg(child.pid, signal.SIGKILL)
        rest = child.communicate()[0]
        saved += [int(line) for line in (first + rest).split()]
        versions = [tag_of(p) for p in [ws.proc_path("c"), *ws.proc_backups("c")] if p.exists()]
        assert set(saved) <= set(versions), f"lost after a kill: {sorted(set(saved) - set(versions))[:5]}"
        read_rgba(ws.proc_path("c"))  # whole
        assert ws.load_crop_meta("c").cleanup is not None
    assert len(saved) > 5
