"""`garbtui clean` end to end on a copy of the sample workspace: pending crops, --force backups, failures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from garbtui.cli import main
from garbtui.core.workspace.imageio import read_rgba
from garbtui.core.workspace.store import Workspace


@pytest.fixture
def ws(sample_ws: Path) -> Workspace:
    return Workspace.open(sample_ws)


def test_clean_pending_then_force_keeps_backups(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    crops = ws.crop_ids()
    assert len(crops) >= 3 and ws.pending_crop_ids() == crops
    assert main(["clean", "-w", str(ws.root), "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert f"cleaned {len(crops)} of {len(crops)} crop(s)" in out
    assert ws.pending_crop_ids() == []
    alphas = {}
    for crop_id in crops:
        rgba = read_rgba(ws.proc_path(crop_id))
        meta = ws.load_crop_meta(crop_id)
        assert rgba.shape == (meta.crop_height, meta.crop_width, 4)
        assert rgba[:, :, 3].any() and not rgba[:, :, 3].all()
        assert meta.cleanup is not None and meta.cleanup.keep is not None
        alphas[crop_id] = rgba[:, :, 3]

    assert main(["clean", "-w", str(ws.root)]) == 0
    assert "nothing to clean" in capsys.readouterr().out

    target = crops[0]
    assert main(["clean", "-w", str(ws.root), target, "--force", "-k", "4", "--feather", "0"]) == 0
    backups = ws.proc_backups(target)
    assert len(backups) == 1
    assert np.array_equal(read_rgba(backups[0])[:, :, 3], alphas[target])  # the old cutout, intact
    assert ws.load_crop_meta(target).cleanup.k == 4
    assert set(np.unique(read_rgba(ws.proc_path(target))[:, :, 3])) <= {0, 255}
    assert "1 earlier proc.png kept as backup" in capsys.readouterr().out


def test_failures_are_one_line_each_and_the_rest_is_done(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    crops = ws.crop_ids()
    (ws.raw_path(crops[1])).unlink()  # a broken crop
    code = main(["clean", "-w", str(ws.root), crops[0], crops[1], "no-such-crop"])
    captured = capsys.readouterr()
    assert code == 1
    errors = [line for line in captured.err.splitlines() if line.startswith("garbtui:")]
    assert errors == [
        f"garbtui: crop {crops[1]}: raw.png is missing",
        "garbtui: crop no-such-crop: no such crop in this workspace",
    ]
    assert "Traceback" not in captured.err
    assert ws.proc_path(crops[0]).exists()
    assert "cleaned 1 of 3 crop(s); 2 failed" in captured.out


def test_bad_arguments(ws: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["clean", "-w", str(ws.root), "-k", "12"]) == 2
    assert "-k" in capsys.readouterr().err
    assert main(["clean", "-w", str(tmp_path / "nowhere")]) == 3


def test_replay_reuses_each_stored_recipe(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = ws.crop_ids()[:2]
    assert main(["clean", "-w", str(ws.root), first, "-k", "3", "--feather", "2", "--seed", "5"]) == 0
    assert main(["clean", "-w", str(ws.root), second]) == 0
    stored = ws.load_crop_meta(first).cleanup
    alpha = read_rgba(ws.proc_path(first))[:, :, 3]
    assert main(["clean", "-w", str(ws.root), first, second, "--force", "--replay"]) == 0
    assert ws.load_crop_meta(first).cleanup == stored
    assert np.array_equal(read_rgba(ws.proc_path(first))[:, :, 3], alpha)  # remade exactly
    assert ws.load_crop_meta(second).cleanup.k == 6


def test_clean_records_a_confidence_and_names_the_suspects(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    crops = ws.crop_ids()[:4]
    assert main(["clean", "-w", str(ws.root), *crops]) == 0  # a suspect cutout is still a cutout: exit 0
    captured = capsys.readouterr()
    suspects = []
    for crop_id in crops:
        quality = ws.load_crop_meta(crop_id).quality
        assert quality is not None and 0.0 <= quality.score <= 1.0 and not quality.curated
        assert bool(quality.reasons) == quality.suspect
        if quality.suspect:
            suspects.append(crop_id)
            assert f"crop {crop_id}: suspect cutout (confidence {quality.score:.2f}" in captured.err
    assert captured.err.count("suspect cutout") == len(suspects)
    assert (f"{len(suspects)} suspect" in captured.out) == bool(suspects)
