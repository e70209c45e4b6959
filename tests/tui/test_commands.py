"""`garbtui open` / `demo` / `doctor` from the command line (the app itself is driven in test_app.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from garbtui.cli import main
from garbtui.commands.demo import make_copy
from garbtui.core.workspace.store import Workspace
from garbtui.sample import sample_workspace

REPO = Path(__file__).resolve().parents[2]


def test_open_refuses_a_folder_that_is_not_a_workspace(tmp_path: Path, capsys) -> None:
    assert main(["open", str(tmp_path)]) == 3
    assert "not a garbtui workspace" in capsys.readouterr().err


def test_open_help_lists_the_protocols() -> None:
    proc = subprocess.run([sys.executable, "-m", "garbtui", "open", "--help"], capture_output=True, text=True,
                          cwd=REPO, timeout=60)
    assert proc.returncode == 0
    for name in ("auto", "kitty", "sixel", "halfcell", "unicode"):
        assert name in proc.stdout


def test_demo_copies_the_sample_and_leaves_the_repository_alone(tmp_path: Path, capsys) -> None:
    source = sample_workspace()
    before = sorted(p.relative_to(source) for p in source.rglob("*"))
    target = tmp_path / "demo"
    assert main(["demo", "--dir", str(target), "--no-open"]) == 0
    assert str(target) in capsys.readouterr().out
    ws = Workspace.open(target)
    assert ws.crop_ids() == Workspace.open(source).crop_ids() and ws.pending_crop_ids()
    assert sorted(p.relative_to(source) for p in source.rglob("*")) == before
    assert main(["demo", "--dir", str(target), "--no-open"]) == 2  # never overwrites an existing folder


def test_demo_default_folder_is_fresh_each_time(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    first, second = make_copy(), make_copy()
    assert first != second and first.is_dir() and second.is_dir()
    assert str(first).startswith(str(tmp_path / "data"))


def test_demo_keeps_the_newest_copies_and_lists_and_cleans_them(tmp_path: Path, monkeypatch, capsys) -> None:
    base = tmp_path / "demos"
    monkeypatch.setenv("GARBTUI_DEMO_DIR", str(base))
    stranger = base / "my-notes"  # not a demo copy: never listed, never removed
    stranger.mkdir(parents=True)
    made = []
    for _ in range(4):
        assert main(["demo", "--no-open", "--keep", "2"]) == 0
        made.append(Path(capsys.readouterr().out.splitlines()[0].split(": ", 1)[1]))
    assert {p for p in base.iterdir() if p != stranger} == set(made[-2:])
    assert main(["demo", "--list"]) == 0
    listing = capsys.readouterr().out
    assert str(base) in listing.splitlines()[0]
    assert [line.strip() for line in listing.splitlines()[1:]] == [str(p) for p in made[-2:]]
    assert main(["demo", "--clean"]) == 0
    assert "removed 2 demo copies" in capsys.readouterr().out
    assert list(base.iterdir()) == [stranger]
