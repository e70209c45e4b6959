"""`garbtui generate` / `recreate` with suspect cutouts: the warning names --include-suspect, which brings them back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from garbtui.cli import main
from garbtui.core.recreate import reference_objects
from garbtui.core.workspace.store import Workspace
from tests.unit.test_suspect_cutouts import CANS, scored, suspect
from tests.unit.test_suspect_cutouts import ws as ws  # noqa: F401 - the module's workspace fixture, reused


def test_cli_names_the_flag_and_the_flag_brings_them_back(ws: Workspace, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    front = [c for c in ws.crop_ids() if ws.load_crop_meta(c).label == "Drink can"]
    bad = front[0]
    args = ["generate", "-w", str(ws.root), "--count", "3", "--size", "160x120", "--workers", "1",
            "--background", "paving", "-q"]
    with scored(ws, {bad: suspect()}):
        assert main([*args, "--out", str(tmp_path / "a")]) == 0
        err = capsys.readouterr().err
        line = next((x for x in err.splitlines() if "suspect cutout(s) left out" in x), "")
        assert f"1 suspect cutout(s) left out ({bad})" in line and line.endswith("(--include-suspect)"), err
        manifest = json.loads((tmp_path / "a" / "generate.json").read_text())
        assert bad not in manifest["fragments"]
        assert main([*args, "--out", str(tmp_path / "b"), "--include-suspect"]) == 0
        assert "suspect" not in capsys.readouterr().err
        assert bad in json.loads((tmp_path / "b" / "generate.json").read_text())["fragments"]
    with scored(ws, {c: suspect() for c in ws.crop_ids()}):
        assert main([*args, "--out", str(tmp_path / "c")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("garbtui: error: --include-suspect: ") and "every cleaned fragment is suspect" in err, err
    refs = reference_objects(ws, CANS)
    with scored(ws, {refs[0].crop_id: suspect()}):
        assert main(["recreate", "-w", str(ws.root), "--reference", CANS, "--onto", "paving", "--no-render"]) == 0
        out = capsys.readouterr().out
        assert f"1 suspect cutout(s) left out ({refs[0].crop_id})" in out and "(--include-suspect)" in out, out
        assert main(["recreate", "-w", str(ws.root), "--reference", CANS, "--onto", "paving", "--no-render",
                     "--include-suspect", "--id", "all-cutouts"]) == 0
        assert "suspect" not in capsys.readouterr().out
        assert refs[0].crop_id in [p.crop_id for p in ws.load_scene("all-cutouts").placements]
