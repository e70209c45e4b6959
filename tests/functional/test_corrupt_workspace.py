"""Corrupt files inside a workspace: the CLI and the TUI keep working and name each broken item with its reason."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from garbtui.cli import main
from garbtui.core.workspace.check import check_workspace
from garbtui.core.workspace.imageio import read_rgb
from garbtui.core.workspace.models import CleanupRecipe
from garbtui.core.workspace.store import Workspace
from tests.conftest import SAMPLE_DATA, copy_sample
from tests.helpers.pilot import settled

EXPORT = SAMPLE_DATA / "export" / "taco_sample.json"


@dataclass
class Broken:
    """A copy of the sample workspace with one kind of damage per item, and what `--check` must say."""

    ws: Workspace
    expected: dict[str, str]  # item as --check names it -> a phrase its reason must contain
    good: list[str]  # crops left intact
    raw_bytes: dict[str, bytes]  # the original raw.png of the crops whose raw.png was damaged or removed


def truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


@pytest.fixture
def broken(tmp_path: Path) -> Broken:
    root = tmp_path / "ws"
    copy_sample(root)
    ws = Workspace.open(root)
    crops = ws.crop_ids()
    assert len(crops) >= 9
    (truncated_raw, bad_json, no_raw, newer, bad_type, truncated_proc, empty_meta, *good) = crops
    raw_bytes = {c: ws.raw_path(c).read_bytes() for c in (truncated_raw, no_raw)}
    truncate(ws.raw_path(truncated_raw))
    (ws.crop_dir(bad_json) / "meta.json").write_text('{"id": "x", ', encoding="utf-8")
    ws.raw_path(no_raw).unlink()
    meta = json.loads((ws.crop_dir(newer) / "meta.json").read_text())
    (ws.crop_dir(newer) / "meta.json").write_text(json.dumps(meta | {"schema_version": 99}))
    meta = json.loads((ws.crop_dir(bad_type) / "meta.json").read_text())
    (ws.crop_dir(bad_type) / "meta.json").write_text(json.dumps(meta | {"crop_width": "wide"}))
    raw = read_rgb(ws.raw_path(truncated_proc))
    rgba = np.dstack([raw, np.full(raw.shape[:2], 255, np.uint8)])
    ws.save_proc(truncated_proc, rgba, CleanupRecipe())
    truncate(ws.proc_path(truncated_proc), 0.3)
    (ws.crop_dir(empty_meta) / "meta.json").write_bytes(b"")
    (root / "crops" / "New Folder").mkdir()  # made by hand in a file manager: not a valid id
    shutil.copytree(ws.crop_dir(good[1]), root / "crops" / "copied-crop")  # cp -r to try something out
    outside = root.parent / "elsewhere"
    shutil.copytree(ws.crop_dir(good[0]), outside)
    (root / "crops" / "linked").symlink_to(outside, target_is_directory=True)  # would lead out of the workspace
    image_id = ws.load_crop_meta(good[-1]).image_id
    assert image_id not in {ws.load_crop_meta(c).image_id for c in (truncated_raw, no_raw)}
    (ws.image_dir(image_id) / "meta.json").write_text("[]")
    bg_id = ws.background_ids()[0]
    truncate(ws.background_path(bg_id), 0.2)
    (root / "scenes" / "s1").mkdir(parents=True, exist_ok=True)
    (root / "scenes" / "s1" / "scene.json").write_text('{"id": "s1"}')
    expected = {
        f"crops/{truncated_raw}/raw.png": "corrupt or truncated",
        f"crops/{bad_json}": "invalid JSON",
        f"crops/{no_raw}": "raw.png is missing",
        f"crops/{newer}": "schema version 99 is newer",
        f"crops/{bad_type}": "crop_width",
        f"crops/{truncated_proc}/proc.png": "corrupt or truncated",
        f"crops/{empty_meta}": "invalid JSON",
        "crops/New Folder": "not a valid id",
        "crops/copied-crop": "but the folder is 'copied-crop'",
        "crops/linked": "outside the workspace",
        f"images/{image_id}": "invalid ImageMeta",
        f"backgrounds/{bg_id}": "corrupt or truncated",
        "scenes/s1": "background_id",
    }
    return Broken(ws, expected, good, raw_bytes)


def test_check_names_every_broken_item_with_its_reason(broken: Broken) -> None:
    problems = dict(check_workspace(broken.ws))
    assert problems.keys() == broken.expected.keys()
    for item, phrase in broken.expected.items():
        assert phrase in problems[item], (item, problems[item])
    assert "re-run `garbtui extract`" in problems[next(k for k in problems if k.endswith("raw.png"))]


def test_status_and_status_check_cli(broken: Broken, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(broken.ws.root)
    assert main(["status", "-w", root]) == 0  # counting reads no file: it never trips on a broken one
    out = capsys.readouterr().out
    assert "broken" in out
    assert main(["status", "-w", root, "--check"]) == 1
    out = capsys.readouterr().out
    assert f"{len(broken.expected)} problem(s)" in out
    for item, phrase in broken.expected.items():
        line = next(line for line in out.splitlines() if line.strip().startswith(item + ":"))
        assert phrase in line
    assert main(["status", "-w", root, "--check", "--json"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert {p["item"] for p in payload["problems"]} == broken.expected.keys()


def test_extract_rerun_restores_missing_raw_and_keeps_going(broken: Broken, capsys: pytest.CaptureFixture[str]) -> None:
    ws = broken.ws
    before = {p: p.read_bytes() for p in ws.root.rglob("*") if p.is_file() and p.name != ".lock"}
    code = main(["extract", str(EXPORT), "-w", str(ws.root), "--local-files-root", str(EXPORT.parent), "-q"])
    assert code == 0, capsys.readouterr()
    no_raw = next(k.split("/")[1] for k, v in broken.expected.items() if v == "raw.png is missing")
    assert ws.raw_path(no_raw).read_bytes() == broken.raw_bytes[no_raw]  # cut again, the same pixels
    # Nothing else is rewritten: corrupt files stay as they are for the user to look at.
    for path, data in before.items():
        assert path.read_bytes() == data, path
    problems = dict(check_workspace(ws))
    assert f"crops/{no_raw}" not in problems and len(problems) == len(broken.expected) - 1
    # The hint that --check gives for a truncated raw.png works: delete it, re-run, it is whole again.
    truncated = next(k.split("/")[1] for k in broken.expected if k.endswith("/raw.png"))
    ws.raw_path(truncated).unlink()
    assert main(["extract", str(EXPORT), "-w", str(ws.root), "--local-files-root", str(EXPORT.parent), "-q"]) == 0
    assert ws.raw_path(truncated).read_bytes() == broken.raw_bytes[truncated]
    # A crop of the image whose meta.json is broken cannot be cut again: skipped, with the reason.
    ws.raw_path(broken.good[-1]).unlink()
    assert main(["extract", str(EXPORT), "-w", str(ws.root), "--local-files-root", str(EXPORT.parent)]) == 1
    err = capsys.readouterr().err
    assert "skipped" in err and "invalid ImageMeta" in err and "Traceback" not in err


def test_clean_skips_broken_crops_with_reasons_and_cleans_the_rest(broken: Broken,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    ws = broken.ws
    code = main(["clean", "-w", str(ws.root), "--workers", "2"])
    captured = capsys.readouterr()
    assert code == 1
    for crop_id in broken.good:
        assert ws.proc_path(crop_id).is_file(), f"{crop_id} was not cleaned"
    reasons = {m.group(1): m.group(2) for m in re.finditer(r"^garbtui: crop (\S+): (.*)$", captured.err, re.M)}
    for item, phrase in broken.expected.items():
        parts = item.split("/")
        if (parts[0] != "crops" or item.endswith("proc.png")
                or phrase in ("raw.png is missing", "not a valid id", "outside the workspace")):
            continue  # done (proc.png exists) and raw-less crops are not pending; stray folders are not crops
        assert parts[1] in reasons, f"{item} is not reported by clean"
        assert phrase in reasons[parts[1]], (item, reasons[parts[1]])
    assert "Traceback" not in captured.err


def test_a_copied_crop_folder_never_writes_into_the_original(broken: Broken) -> None:
    ws = broken.ws
    original = broken.good[1]
    before = (ws.crop_dir(original) / "meta.json").read_bytes()
    assert main(["clean", "-w", str(ws.root), "copied-crop", "--workers", "1"]) == 1
    assert main(["clean", "-w", str(ws.root), "--force", "copied-crop"]) == 1
    assert (ws.crop_dir(original) / "meta.json").read_bytes() == before
    assert not ws.proc_path("copied-crop").exists()


def test_clean_named_broken_crop_says_why(broken: Broken, capsys: pytest.CaptureFixture[str]) -> None:
    no_raw = next(k.split("/")[1] for k, v in broken.expected.items() if v == "raw.png is missing")
    assert main(["clean", no_raw, "ghost-crop", "-w", str(broken.ws.root)]) == 1
    err = capsys.readouterr().err
    assert f"crop {no_raw}: raw.png is missing" in err and "crop ghost-crop: no such crop" in err


def test_tui_opens_a_corrupt_workspace_and_shows_broken_items(broken: Broken) -> None:
    from garbtui.tui import GarbApp

    async def drive() -> dict[str, str]:
        app = GarbApp(broken.ws.root)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause(0.2)
            for _ in range(3):  # every status filter, every row: each broken crop gets previewed
                await pilot.press("f")
                for _ in range(len(broken.ws.crop_ids())):
                    await pilot.press("down")
                    await pilot.pause(0.02)
            await pilot.pause(0.3)
            await pilot.press("i")  # the images / backgrounds screen, with a broken meta and a torn photo
            await pilot.pause(0.3)
            for key in ("down",) * 8 + ("b", "e", "down", "e", "down", "e"):  # photos, then backgrounds
                await pilot.press(key)
                await pilot.pause(0.05)
            await settled(pilot)
            assert app.is_running
            return {row.id: row.reason for row in app.queue.rows.values() if row.status == "broken"}

    broken_rows = asyncio.run(drive())
    for item, phrase in broken.expected.items():
        parts = item.split("/")
        if parts[0] == "crops" and len(parts) == 2 and phrase not in ("not a valid id", "outside the workspace"):
            assert phrase in broken_rows.get(parts[1], ""), (item, broken_rows.get(parts[1]))


def test_check_notices_a_photo_overwritten_in_place(tmp_path: Path, capsys) -> None:
    """The stored photo may be a hard link to the user's file; overwriting that file in place shows up."""
    from tests.conftest import LABELSTUDIO

    photos = tmp_path / "files" / "photos"
    shutil.copytree(LABELSTUDIO / "files" / "photos", photos)
    export = tmp_path / "polygons.json"
    shutil.copy(LABELSTUDIO / "polygons.json", export)
    ws = tmp_path / "ws"
    assert main(["extract", str(export), "-w", str(ws), "--local-files-root", str(tmp_path / "files"),
                 "--media-root", str(LABELSTUDIO / "media"),
                 "--path-map", f"/srv/labelstudio/files={tmp_path / 'files'}", "-q"]) == 0
    assert main(["status", "-w", str(ws), "--check"]) == 0
    if (photos / "road_01.jpg").stat().st_nlink < 2:
        pytest.skip("this filesystem gave a copy, not a hard link: nothing can change under the workspace")
    with open(photos / "road_01.jpg", "r+b") as handle:  # `cp other.jpg road_01.jpg` keeps the inode
        data = bytearray(handle.read())
        data[-100:-2] = bytes(98)
        handle.seek(0)
        handle.write(data)
    capsys.readouterr()
    assert main(["status", "-w", str(ws), "--check"]) == 1
    assert "changed since it was added" in capsys.readouterr().out
