"""Files and folders garbtui writes respect the umask, so other accounts can read workspaces and datasets."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from garbtui.cli import main
from garbtui.core.workspace.store import Workspace
from tests.conftest import REPO, SAMPLE_DATA

NOBODY = 65534


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A folder every account can enter (pytest's own tmp_path is 0700, which would hide everything)."""
    path = Path(tempfile.mkdtemp(prefix="garbtui-perm-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def run_workflow(root: Path) -> list[Path]:
    """The README workflow in this process (umask already set); returns the folders it wrote."""
    ws, ws2, out = root / "ws", root / "ws2", root / "dataset"
    export = SAMPLE_DATA / "export"
    assert main(["demo", "--dir", str(ws), "--no-open"]) == 0
    assert main(["extract", str(export / "taco_sample.json"), "-w", str(ws2), "--local-files-root", str(export), "-q"]) == 0
    assert main(["clean", "-w", str(ws2), "--workers", "2"]) == 0
    crop = Workspace.open(ws2).crop_ids()[0]
    assert main(["clean", "-w", str(ws2), crop, "--force"]) == 0  # keeps a proc.bak-<time>.png backup
    photo = root / "highway.jpg"
    shutil.copyfile(next((ws / "backgrounds").glob("udacity_adv*/image.jpg")), photo)
    assert main(["background", "add", str(photo), "-w", str(ws2), "--scene", "road", "--horizon", "420"]) == 0
    bg = next(p.name for p in (ws2 / "backgrounds").iterdir() if p.name.startswith("highway"))
    image = sorted(p.name for p in (ws2 / "images").iterdir())[0]
    assert main(["recreate", "-w", str(ws2), "--reference", image, "--onto", bg, "--id", "perm", "-q"]) == 0
    assert main(["render", str(ws2 / "scenes" / "perm"), "-q"]) == 0
    # 640x480: at 320x240 no fragment is big enough on this highway, and a run of only empty images exits 1.
    assert main(["generate", "-w", str(ws2), "--count", "6", "--out", str(out), "--seed", "1", "--workers", "2",
                 "--size", "640x480", "-q"]) == 0
    return [ws, ws2, out]


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_every_file_written_respects_the_umask_and_others_can_read_it(open_dir: Path, umask: int) -> None:
    # In a fresh process: worker pools started earlier in this one (forkserver) keep the umask they began with.
    script = (f"import os, pathlib; os.umask({umask}); from tests.functional.test_permissions import run_workflow; "
              f"print('\\n'.join(map(str, run_workflow(pathlib.Path({str(open_dir)!r})))))")
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    folders = [Path(line) for line in proc.stdout.splitlines()[-3:]]
    files, dirs = [], []
    for folder in folders:
        for path in [folder, *folder.rglob("*")]:
            (dirs if path.is_dir() else files).append(path)
    assert len(files) > 100 and any(p.name.startswith("proc.bak") for p in files)
    wrong = [f"{p}: {stat.S_IMODE(p.stat().st_mode):o}" for p in files if stat.S_IMODE(p.stat().st_mode) != 0o666 & ~umask]
    wrong += [f"{p}/: {stat.S_IMODE(p.stat().st_mode):o}" for p in dirs if stat.S_IMODE(p.stat().st_mode) != 0o777 & ~umask]
    assert not wrong, "\n".join(wrong[:20])
    if os.geteuid() != 0:
        return  # only root can become another account; the modes above are what that account would see
    # Another account (nobody) lists every folder and reads every file: find fails on any it cannot.
    # (find and cat, not this venv's python, which may live where nobody may not go, e.g. under /root.)
    proc = subprocess.run(["find", *map(str, folders), "-type", "f", "-exec", "cat", "{}", "+"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          user=NOBODY, group=NOBODY, extra_groups=[], timeout=120)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr[-2000:]
