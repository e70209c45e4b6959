"""Killing a job at a random point leaves only complete files, and a re-run finishes the job."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from garbtui.cli import main
from tests.conftest import LABELSTUDIO, REPO


def complete_files_only(root: Path) -> list[Path]:
    """Every file is a whole PNG / JPEG / JSON; returns the temporary leftovers (hidden *.tmp)."""
    leftovers = []
    for path in root.rglob("*"):
        if not path.is_file() or path.name == ".lock":
            continue
        if path.name.endswith(".tmp"):
            leftovers.append(path)
            continue
        if path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix in (".png", ".jpg"):
            img = cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_UNCHANGED)
            assert img is not None, f"torn image {path}"
    return leftovers


def extract_args(ws: Path) -> list[str]:
    return ["extract", str(LABELSTUDIO / "taco_sample.json"), "-w", str(ws),
            "--local-files-root", str(LABELSTUDIO.parent), "-q"]


@pytest.mark.slow
def test_extract_killed_anywhere_then_rerun(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    assert main(extract_args(reference)) == 0
    ref_files = {p.relative_to(reference): p.read_bytes() for p in reference.rglob("*")
                 if p.is_file() and p.name not in (".lock",)}
    rng = random.Random(1)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    partial_kills = 0
    for attempt in range(4):
        ws = tmp_path / f"ws{attempt}"
        proc = subprocess.Popen([sys.executable, "-m", "garbtui", *extract_args(ws)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        kill_mid_run(proc, ws / "crops", rng)
        done = len(list(ws.glob("crops/*/meta.json")))
        partial_kills += 0 < done < len(ref_files)
        complete_files_only(ws)
        assert main(extract_args(ws)) == 0
        assert not complete_files_only(ws), "a re-run sweeps the killed run's temporary files"
        got = {p.relative_to(ws): p.read_bytes() for p in ws.rglob("*") if p.is_file() and p.name != ".lock"}
        assert got.keys() == ref_files.keys()
        for rel, data in ref_files.items():
            if rel.suffix == ".png":
                assert data == got[rel], f"{rel} differs after kill + re-run"
    assert partial_kills, "no kill landed in the middle of the job"


def kill_mid_run(proc: subprocess.Popen, watch: Path, rng: random.Random, timeout: float = 60.0) -> None:
    """SIGKILL `proc` a random moment after it has started writing into `watch`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if watch.is_dir() and any(watch.iterdir()):
            break
        time.sleep(0.005)
    time.sleep(rng.uniform(0.0, 0.25))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
