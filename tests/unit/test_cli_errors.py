"""Errors name the parameter they concern in core's terms (`field`); the CLI prints the flag of the command that ran."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from garbtui import cli
from garbtui.cli import COMMANDS, FlagNames, build_parser, error_text, main
from garbtui.core.errors import InputError
from garbtui.core.workspace.store import Workspace


class FieldError(InputError):
    """An InputError naming the parameter it is about, the way core's errors carry `field`."""

    def __init__(self, message: str, *, field: str, where: str | None = None) -> None:
        super().__init__(message, where=where)
        self.field = field


def flags_of(name: str) -> FlagNames:
    args = build_parser().parse_args([name, *REQUIRED.get(name, [])])
    flags: FlagNames = args._flags
    return flags


# The least each command needs to parse, so its defaults (and its FlagNames) can be read back.
REQUIRED = {
    "extract": ["export.json", "-w", "ws"],
    "generate": ["--count", "1", "--out", "out"],
    "recreate": ["--reference", "a", "--onto", "b"],
    "render": ["scene.json"],
}


def test_a_field_becomes_the_flag_of_the_command_that_ran() -> None:
    generate = flags_of("generate")
    assert error_text(FieldError("must be at least 1, got 0", field="count"), generate) == "--count: must be at least 1, got 0"
    assert error_text(FieldError("must be MIN-MAX", field="per_image"), generate) == "--per-image: must be MIN-MAX"
    # FIELD_FLAGS where the flag is not the parameter's name.
    assert error_text(FieldError("must be outside the workspace", field="out_dir", where="/ws/out"), generate) == (
        "--out: /ws/out: must be outside the workspace")
    assert flags_of("recreate").flag_for("scene_id") == "--id"
    assert flags_of("clean").flag_for("force") == "--force"
    assert flags_of("extract").flag_for("annotations") == "--annotations"
    assert flags_of("background").flag_for("horizon") == "--horizon"  # a flag of a sub-command (background add)


def test_a_field_no_flag_sets_is_printed_as_core_wrote_it() -> None:
    # render reads placements from scene.json: no flag sets `y`, so none is named.
    assert flags_of("render").flag_for("y") is None
    assert error_text(FieldError("y=100 is above the horizon", field="y", where="placement 0"), flags_of("render")) == (
        "placement 0: y=100 is above the horizon")
    assert error_text(InputError("export file not found", where="x.json"), flags_of("extract")) == "x.json: export file not found"


def test_every_declared_flag_exists() -> None:
    for module in COMMANDS:
        parser = argparse.ArgumentParser()
        module.add_arguments(parser)
        options = cli._option_strings(parser)
        for name, flag in getattr(module, "FIELD_FLAGS", {}).items():
            assert flag in options, f"{module.NAME}: FIELD_FLAGS[{name!r}] = {flag} is not one of its flags"


def test_main_prints_the_flag_and_exits_with_the_error_code(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from garbtui.commands import generate

    def failing(args: argparse.Namespace) -> int:
        raise FieldError(f"must be at least 1, got {args.count}", field="count")

    monkeypatch.setattr(generate, "run", failing)
    assert main(["generate", "--count", "0", "--out", "out"]) == 2
    assert capsys.readouterr().err == "garbtui: error: --count: must be at least 1, got 0\n"


def test_generate_names_count_on_a_bad_count(tmp_ws: Workspace, tmp_path: Path, capsys) -> None:
    """A real error from core: `--count` heads the message (core's field, or its text until core names fields)."""
    assert main(["generate", "-w", str(tmp_ws.root), "--count", "0", "--out", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("garbtui: error: --count") and "at least 1, got 0" in err
