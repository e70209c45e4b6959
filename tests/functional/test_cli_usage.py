"""CLI usage: a sub-command's own usage with did-you-mean on a typo, -q/-v on every command, next-step messages."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from garbtui.cli import COMMANDS, build_parser, main
from garbtui.commands.usage import leaf_parsers
from garbtui.core.workspace.store import Workspace
from tests.conftest import REPO, copy_sample, cut_out

# The least each command needs to parse.
REQUIRED = {
    "extract": ["export.json", "-w", "ws"],
    "generate": ["--count", "1", "--out", "out"],
    "recreate": ["--reference", "a", "--onto", "b"],
    "render": ["scene.json"],
    "background add": ["photo.jpg", "-w", "ws", "--scene", "road"],
    "background horizon": ["bg", "300"],
    "dataset check": ["out"],
}


def _usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err


def test_a_mistyped_flag_shows_the_commands_usage_and_the_flag_meant(capsys: pytest.CaptureFixture[str]) -> None:
    err = _usage_error(["extract", "export.json", "-w", "ws", "--local-file-root", "/srv"], capsys)
    assert err.startswith("usage: garbtui extract ")  # the sub-command's usage, not the top-level one
    assert "garbtui extract: error: unrecognized arguments: --local-file-root /srv" in err
    assert "--local-file-root: did you mean --local-files-root?" in err
    assert "`garbtui extract --help`" in err
    # A sub-command's sub-command: its own usage too, and `--flag=value` spelled as typed.
    err = _usage_error(["background", "add", "p.jpg", "-w", "ws", "--scene", "road", "--camera-hieght=2"], capsys)
    assert err.startswith("usage: garbtui background add ")
    assert "--camera-hieght: did you mean --camera-height?" in err


def test_mistyped_commands_and_choices_get_close_matches(capsys: pytest.CaptureFixture[str]) -> None:
    err = _usage_error(["generat", "--count", "1"], capsys)
    assert "invalid choice: 'generat'" in err and "generat: did you mean generate?" in err
    err = _usage_error(["background", "ad", "x.jpg"], capsys)
    assert err.startswith("usage: garbtui background ") and "ad: did you mean add?" in err
    err = _usage_error(["generate", "--count", "1", "--out", "o", "--blend", "feathr"], capsys)
    assert err.startswith("usage: garbtui generate ") and "feathr: did you mean feather?" in err
    # Nothing close: no guess is made up.
    err = _usage_error(["status", "--zzzzzz"], capsys)
    assert "did you mean" not in err and "unrecognized arguments: --zzzzzz" in err


def test_every_command_takes_quiet_and_verbose() -> None:
    parser = build_parser()
    names: list[str] = []
    for module in COMMANDS:
        sub = next(a for a in parser._actions if a.dest == "command").choices[module.NAME]  # type: ignore[index]  # argparse types choices loosely
        leaves = leaf_parsers(sub)
        for leaf in leaves:
            name = leaf.prog.removeprefix("garbtui ")
            names.append(name)
            for flags in (["-q", "-v"], ["--quiet", "--verbose"]):
                args = parser.parse_args([*name.split(), *REQUIRED.get(name, []), *flags])
                assert args.quiet is True and args.verbose is True, name
    assert {"background add", "background list", "background horizon", "generate", "doctor"} <= set(names)


def test_quiet_keeps_stdout_empty_and_errors_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = Workspace.create(tmp_path / "ws")
    assert main(["status", "-w", str(ws.root), "-q"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["status", "-w", str(ws.root), "-v"]) == 0
    assert "backgrounds  0" in capsys.readouterr().out
    # -q never hides an error; -v adds its traceback.
    assert main(["status", "-w", str(tmp_path / "nowhere"), "-q"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("garbtui: error: ") and "Traceback" not in err
    assert main(["status", "-w", str(tmp_path / "nowhere"), "-v"]) == 3
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "garbtui: error: " in err


def test_a_file_that_is_no_image_is_named_as_such(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = REPO / "README.md"
    rc = main(["background", "add", str(readme), "-w", str(tmp_path / "ws"), "--scene", "road", "-q"])
    assert rc == 2
    err = capsys.readouterr().err
    assert f"{readme}: not an image" in err and "not found" not in err
    rc = main(["background", "add", str(tmp_path / "missing.jpg"), "-w", str(tmp_path / "ws"), "--scene", "road"])
    assert rc == 2 and "photo not found" in capsys.readouterr().err


def test_ctrl_c_says_that_running_again_resumes(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    copy_sample(root)
    ws = Workspace.open(root)
    cut_out(ws, ws.crop_ids()[:3])
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "garbtui.cli", "generate", "-w", str(root), "--count", "5000", "--out", str(out),
           "--workers", "1"]
    proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while not ((out / "recipes").is_dir() and any((out / "recipes").glob("*.json"))):
        assert time.monotonic() < deadline and proc.poll() is None, "generate did not start"
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends: the whole process group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "run the same command again to resume" in err
    assert "Traceback" not in err
