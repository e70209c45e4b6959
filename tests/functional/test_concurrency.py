"""Two people on one workspace: processes saving cutouts and scenes at once lose nothing and tear nothing."""

from __future__ import annotations

import multiprocessing as mp
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from garbtui.core.workspace.imageio import read_rgb, read_rgba
from garbtui.core.workspace.models import BBox, CleanupRecipe, CropMeta, Placement, Region, Scene
from garbtui.core.workspace.store import FileStamp, Workspace
from tests.conftest import PHOTOS, copy_sample
from tests.helpers.pilot import settled

PHOTO = PHOTOS / "front" / "taco_b1_000032.jpg"
SAVES = 12  # per process; enough for the two writers' saves to interleave many times


def make_crop(ws: Workspace, crop_id: str, x0: int = 100, y0: int = 100, w: int = 160, h: int = 120) -> Path:
    """A crop cut from a real photo through the Workspace API (raw.png + meta.json)."""
    photo = read_rgb(PHOTO)
    H, W = photo.shape[:2]
    raw = np.ascontiguousarray(photo[y0:y0 + h, x0:x0 + w])
    ws.write_raw(crop_id, raw)
    box = BBox(x0=x0 + w * 0.15, y0=y0 + h * 0.15, x1=x0 + w * 0.85, y1=y0 + h * 0.85)
    ws.save_crop_meta(CropMeta(
        id=crop_id, image_id="photo", source_path=str(PHOTO), label="Drink can", origin_x=x0, origin_y=y0,
        crop_width=w, crop_height=h, image_width=W, image_height=H, region=Region(kind="box", bbox=box),
        margin=0.15,
    ))
    return ws.crop_dir(crop_id)


def tagged_cutout(ws: Workspace, crop_id: str, tag: int) -> np.ndarray:
    """The crop's pixels as an opaque RGBA cutout whose top-left pixel carries `tag` (who saved it, when)."""
    rgba = cv2.cvtColor(read_rgb(ws.raw_path(crop_id)), cv2.COLOR_RGB2RGBA)
    rgba[0, 0, :3] = (tag // 256, tag % 256, 7)
    return rgba


def tag_of(path: Path) -> int:
    px = read_rgba(path)[0, 0]
    assert px[2] == 7, f"{path} was not written by this test"
    return int(px[0]) * 256 + int(px[1])


def _save_loop(root: str, crop_ids: list[str], worker: int, start: mp.synchronize.Event) -> None:
    ws = Workspace.open(Path(root))  # a process of its own, as a second person over SSH would be
    images = {c: tagged_cutout(ws, c, 0) for c in crop_ids}
    start.wait(30)
    for i in range(SAVES):
        for crop_id in crop_ids:
            tag = worker * 100 + i
            rgba = images[crop_id].copy()
            rgba[0, 0, :3] = (tag // 256, tag % 256, 7)
            ws.save_proc(crop_id, rgba, CleanupRecipe(seed=tag))


def _run_writers(target, args_per_worker: list[tuple]) -> None:
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=target, args=(*args, start)) for args in args_per_worker]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0, f"writer process failed with exit code {p.exitcode}"


def _reader(paths: list[Path], stop: threading.Event, torn: list[str], reads: list[int]) -> None:
    """A third person looking at the files the whole time: every read is a complete file."""
    while not stop.is_set():
        for path in paths:
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue
            if path.suffix == ".png":
                ok = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) is not None
            else:
                try:
                    Scene.model_validate_json(data) if path.name == "scene.json" else CropMeta.model_validate_json(data)
                    ok = True
                except ValueError:
                    ok = False
            reads[0] += 1
            if not ok:
                torn.append(str(path))


def every_version(ws: Workspace, crop_id: str) -> list[int]:
    """Tags of the current proc.png and every backup of it."""
    files = [ws.proc_path(crop_id), *ws.proc_backups(crop_id)]
    return sorted(tag_of(p) for p in files)


def test_two_processes_saving_the_same_and_different_crops(tmp_ws: Workspace) -> None:
    for crop_id in ("shared", "mine", "yours"):
        make_crop(tmp_ws, crop_id)
    watched = [tmp_ws.proc_path("shared"), tmp_ws.crop_dir("shared") / "meta.json"]
    stop, torn, reads = threading.Event(), [], [0]
    reader = threading.Thread(target=_reader, args=(watched, stop, torn, reads))
    reader.start()
    try:
        _run_writers(_save_loop, [(str(tmp_ws.root), ["shared", "mine"], 1), (str(tmp_ws.root), ["shared", "yours"], 2)])
    finally:
        stop.set()
        reader.join()
    assert reads[0] > 0 and not torn, f"torn reads: {torn[:5]}"
    # No lost write: every one of the 2 x SAVES cutouts of the shared crop is there, current or backup.
    expected_shared = sorted([100 + i for i in range(SAVES)] + [200 + i for i in range(SAVES)])
    assert every_version(tmp_ws, "shared") == expected_shared
    assert every_version(tmp_ws, "mine") == [100 + i for i in range(SAVES)]
    assert every_version(tmp_ws, "yours") == [200 + i for i in range(SAVES)]
    # proc.png and the recipe in meta.json come from the same save (the lock covers both).
    for crop_id in ("shared", "mine", "yours"):
        assert tmp_ws.load_crop_meta(crop_id).cleanup.seed == tag_of(tmp_ws.proc_path(crop_id))
    assert not [p for p in tmp_ws.root.rglob("*.tmp")], "no temporary file is left behind"


def test_checked_save_reports_a_proc_png_saved_elsewhere(tmp_ws: Workspace) -> None:
    make_crop(tmp_ws, "c")
    # I open the crop: no proc.png yet.
    mine = tmp_ws.proc_stamp("c")
    assert mine is None
    # Meanwhile a colleague, in another process, saves a cutout of the same crop.
    _run_writers(_one_save, [(str(tmp_ws.root), "c", 900)])
    theirs = tmp_ws.proc_stamp("c")
    assert theirs is not None
    # My save still goes through, says that it replaced someone else's work, and keeps that work.
    result = tmp_ws.save_proc_checked("c", tagged_cutout(tmp_ws, "c", 1), CleanupRecipe(seed=1), expected=mine)
    assert result.conflict
    assert result.backup is not None and tag_of(result.backup) == 900
    assert tag_of(tmp_ws.proc_path("c")) == 1
    assert result.stamp == tmp_ws.proc_stamp("c") != theirs
    # Saving again on top of my own save is no conflict (a backup is still kept, as for every save).
    again = tmp_ws.save_proc_checked("c", tagged_cutout(tmp_ws, "c", 2), CleanupRecipe(seed=2), expected=result.stamp)
    assert not again.conflict and again.backup is not None and tag_of(again.backup) == 1
    # The plain save_proc keeps working for callers that do not check.
    assert tag_of(tmp_ws.save_proc("c", tagged_cutout(tmp_ws, "c", 3), CleanupRecipe(seed=3))) == 2


def test_stamps_differ_for_saves_within_one_clock_tick(tmp_ws: Workspace) -> None:
    make_crop(tmp_ws, "c")
    rgba = tagged_cutout(tmp_ws, "c", 5)
    stamps = []
    for _ in range(20):  # far faster than a coarse mtime tick: the inode still tells the saves apart
        tmp_ws.save_proc("c", rgba, CleanupRecipe())
        stamps.append(tmp_ws.proc_stamp("c"))
    assert len(set(stamps)) == len(stamps)
    assert len(tmp_ws.proc_backups("c")) == 19
    assert all(isinstance(s, FileStamp) for s in stamps)


def _one_save(root: str, crop_id: str, tag: int, start: mp.synchronize.Event) -> None:
    ws = Workspace.open(Path(root))
    start.wait(30)
    ws.save_proc(crop_id, tagged_cutout(ws, crop_id, tag), CleanupRecipe(seed=tag))


# -- scenes ---------------------------------------------------------------------------------------
def _scene_loop(root: str, scene_ids: list[str], worker: int, start: mp.synchronize.Event) -> None:
    ws = Workspace.open(Path(root))
    start.wait(30)
    for i in range(SAVES):
        for scene_id in scene_ids:
            ws.save_scene(Scene(id=scene_id, background_id="bg", note=f"w{worker}-{i}",
                                placements=[Placement(crop_id="c", x=float(i), y=float(worker))]))


def _scene_edit_loop(root: str, scene_id: str, worker: int, start: mp.synchronize.Event) -> None:
    """Read, add my placement, save with the stamp I read: a person editing a shared scene."""
    ws = Workspace.open(Path(root))
    start.wait(30)
    for i in range(SAVES):
        stamp = ws.scene_stamp(scene_id)  # taken before reading: a change in between shows as a conflict
        scene = ws.load_scene(scene_id)
        scene.placements = [*scene.placements, Placement(crop_id=f"w{worker}-{i}", x=1.0, y=2.0)]
        ws.save_scene(scene, expected=stamp)


def test_two_processes_saving_scenes(tmp_ws: Workspace) -> None:
    watched = [tmp_ws.scene_dir("both") / "scene.json"]
    stop, torn, reads = threading.Event(), [], [0]
    reader = threading.Thread(target=_reader, args=(watched, stop, torn, reads))
    reader.start()
    try:
        _run_writers(_scene_loop, [(str(tmp_ws.root), ["both", "s1"], 1), (str(tmp_ws.root), ["both", "s2"], 2)])
    finally:
        stop.set()
        reader.join()
    assert not torn, f"torn reads: {torn[:5]}"
    assert tmp_ws.load_scene("s1").note == f"w1-{SAVES - 1}"
    assert tmp_ws.load_scene("s2").note == f"w2-{SAVES - 1}"
    # Neither person's scene is silently replaced: every version written is current or a backup.
    notes = [tmp_ws.load_scene("both").note] + [Scene.load(p).note for p in tmp_ws.scene_backups("both")]
    assert sorted(notes) == sorted(f"w{w}-{i}" for w in (1, 2) for i in range(SAVES))


def test_two_people_editing_one_scene_lose_no_placement(tmp_ws: Workspace) -> None:
    tmp_ws.save_scene(Scene(id="shared", background_id="bg"))
    _run_writers(_scene_edit_loop, [(str(tmp_ws.root), "shared", 1), (str(tmp_ws.root), "shared", 2)])
    versions = [tmp_ws.load_scene("shared"), *(Scene.load(p) for p in tmp_ws.scene_backups("shared"))]
    seen = {p.crop_id for v in versions for p in v.placements}
    # A version replaced by a save that had not read it is kept as a backup, so no edit is lost.
    assert seen == {f"w{w}-{i}" for w in (1, 2) for i in range(SAVES)}


def test_scene_save_conflict_api(tmp_ws: Workspace) -> None:
    first = tmp_ws.save_scene(Scene(id="s", background_id="bg", note="mine"), expected=None)
    assert not first.conflict and first.backup is None
    # Saving identical content unchecked is a no-op for backups; other content unchecked keeps one.
    assert tmp_ws.save_scene(Scene(id="s", background_id="bg", note="mine")).backup is None
    loaded = tmp_ws.scene_stamp("s")
    other = tmp_ws.save_scene(Scene(id="s", background_id="bg", note="theirs"))
    assert other.backup is not None and Scene.load(other.backup).note == "mine"
    mine = tmp_ws.save_scene(Scene(id="s", background_id="bg", note="mine again"), expected=loaded)
    assert mine.conflict and Scene.load(mine.backup).note == "theirs"
    assert tmp_ws.load_scene("s").note == "mine again"
    # A new scene that someone else created meanwhile (expected=None) is a conflict too.
    tmp_ws.save_scene(Scene(id="n", background_id="bg", note="theirs"))
    clash = tmp_ws.save_scene(Scene(id="n", background_id="bg", note="mine"), expected=None)
    assert clash.conflict and Scene.load(clash.backup).note == "theirs"


def test_backup_names_never_collide(tmp_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    make_crop(tmp_ws, "c")
    # Two saves landing on the same clock reading must still get two backups, not one replacing the other.
    monkeypatch.setattr("garbtui.core.workspace.store.time.time_ns", lambda: 1_700_000_000_123_456_789)
    for tag in (1, 2, 3):
        tmp_ws.save_proc("c", tagged_cutout(tmp_ws, "c", tag), CleanupRecipe())
    assert sorted(tag_of(p) for p in tmp_ws.proc_backups("c")) == [1, 2]


# -- metadata edited by two people ----------------------------------------------------------------
def _bump_loop(root: str, bg_id: str, crop_id: str, worker: int, start: mp.synchronize.Event) -> None:
    ws = Workspace.open(Path(root))
    start.wait(30)
    for _ in range(SAVES * 3):
        ws.update_background_meta(bg_id, lambda m: setattr(m, "horizon_row", (m.horizon_row or 0) + 1))
        ws.update_crop_meta(crop_id, lambda m: setattr(m, "result_ids", [*m.result_ids, f"w{worker}"]))


def test_two_processes_editing_the_same_metas_lose_no_change(tmp_ws: Workspace) -> None:
    from garbtui.core.workspace.models import BackgroundMeta

    make_crop(tmp_ws, "c")
    tmp_ws.save_background_meta(BackgroundMeta(id="bg", file="image.jpg", width=100, height=80, horizon_row=0))
    args = (str(tmp_ws.root), "bg", "c")
    _run_writers(_bump_loop, [(*args, 1), (*args, 2)])
    # Every read-modify-write counted: no increment and no appended id was lost to the other process.
    assert tmp_ws.load_background_meta("bg").horizon_row == 2 * SAVES * 3
    ids = tmp_ws.load_crop_meta("c").result_ids
    assert ids.count("w1") == ids.count("w2") == SAVES * 3


def _blocked_by_the_lock(ws: Workspace, item_id: str, sub: str, call) -> bool:
    """True when `call()` waits while another holder has the item's lock (i.e. it edits under the lock)."""
    with ws.lock(item_id, sub):
        worker = threading.Thread(target=call)
        worker.start()
        worker.join(0.5)
        blocked = worker.is_alive()
    worker.join(10)
    return blocked


def test_update_metas_wait_for_the_lock(tmp_ws: Workspace) -> None:
    from garbtui.core.workspace.models import BackgroundMeta

    make_crop(tmp_ws, "c")
    tmp_ws.save_background_meta(BackgroundMeta(id="bg", file="image.jpg", width=100, height=80))
    assert _blocked_by_the_lock(tmp_ws, "bg", "backgrounds",
                                lambda: tmp_ws.update_background_meta("bg", lambda m: None))
    assert _blocked_by_the_lock(tmp_ws, "c", "crops", lambda: tmp_ws.update_crop_meta("c", lambda m: None))


def test_set_horizon_edits_under_the_lock(tmp_ws: Workspace) -> None:
    from garbtui.core.scene.backgrounds import set_horizon
    from garbtui.core.workspace.models import BackgroundMeta

    tmp_ws.save_background_meta(BackgroundMeta(id="bg", file="image.jpg", width=100, height=80, scene="road"))
    assert _blocked_by_the_lock(tmp_ws, "bg", "backgrounds", lambda: set_horizon(tmp_ws, "bg", 30.0))


# -- the TUI and a second person -------------------------------------------------------------------
ELSEWHERE = """
import sys
from pathlib import Path
from garbtui.core.workspace.models import CleanupRecipe
from garbtui.core.workspace.store import Workspace
from tests.functional.test_concurrency import make_crop, tagged_cutout
ws = Workspace.open(Path(sys.argv[1]))
for arg in sys.argv[2:]:
    action, crop_id = arg.split("=")
    if action == "new":
        make_crop(ws, crop_id)
    else:
        ws.save_proc(crop_id, tagged_cutout(ws, crop_id, 4242), CleanupRecipe(seed=4242))
"""


def elsewhere(root: Path, *actions: str) -> None:
    """Another person, in another process, adds crops ("new=ID") or saves cutouts ("save=ID")."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    subprocess.run([sys.executable, "-c", ELSEWHERE, str(root), *actions], check=True, timeout=60,
                   env={**os.environ, "PYTHONPATH": str(REPO)})


@pytest.fixture
def sample_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GARBTUI_CONFIG_DIR", str(tmp_path / "config"))  # never the user's settings
    monkeypatch.setenv("GARBTUI_IMAGE_PROTOCOL", "halfcell")
    return copy_sample(tmp_path / "ws")


async def _until(pilot, condition, timeout: float = 20.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await pilot.pause(0.05)
    return True


def _queue_state(app) -> tuple[set[str], dict[str, str]]:
    rows = app.queue.rows
    return set(rows), {k: r.status for k, r in rows.items()}


def test_tui_rescan_shows_crops_and_cutouts_made_by_another_process(sample_copy: Path) -> None:
    import asyncio

    from garbtui.tui import GarbApp

    pending = Workspace.open(sample_copy).pending_crop_ids()

    async def drive() -> None:
        app = GarbApp(sample_copy)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause(0.2)
            elsewhere(sample_copy, "new=zz-new-crop", f"save={pending[0]}")
            await pilot.press("R")  # the queue screen's rescan
            assert await _until(pilot, lambda: "zz-new-crop" in app.queue.rows)
            ids, status = _queue_state(app)
            assert status["zz-new-crop"] == "pending" and status[pending[0]] == "done"

    asyncio.run(drive())


def test_tui_notices_changes_by_another_process_without_a_key(sample_copy: Path) -> None:
    import asyncio

    from garbtui.tui import GarbApp

    pending = Workspace.open(sample_copy).pending_crop_ids()

    async def drive() -> None:
        app = GarbApp(sample_copy)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause(0.2)
            elsewhere(sample_copy, "new=zz-new-crop", f"save={pending[0]}")
            assert await _until(pilot, lambda: "zz-new-crop" in app.queue.rows
                                and app.queue.rows[pending[0]].status == "done", timeout=3.0)

    asyncio.run(drive())


async def _save_in_tui_after_someone_else(app, pilot, root: Path) -> str:
    """Open the first pending crop, run cleanup; another process saves that crop; then save in the TUI."""
    from garbtui.tui.screens.cleanup import CleanupScreen

    await pilot.pause(0.2)
    await pilot.press("enter")
    assert await _until(pilot, lambda: isinstance(app.screen, CleanupScreen))
    screen = app.screen
    crop_id = screen.crop_id
    await pilot.press("c")
    assert await _until(pilot, lambda: screen.result is not None and screen.shown_generation == screen.generation)
    elsewhere(root, f"save={crop_id}")
    await pilot.press("s")
    ws = Workspace.open(root)
    assert await _until(pilot, lambda: len(ws.proc_backups(crop_id)) == 1)
    await settled(pilot)
    return crop_id


def test_tui_save_over_a_cutout_saved_elsewhere_keeps_it(sample_copy: Path) -> None:
    import asyncio

    from garbtui.tui import GarbApp

    async def drive() -> str:
        app = GarbApp(sample_copy)
        async with app.run_test(size=(160, 48)) as pilot:
            return await _save_in_tui_after_someone_else(app, pilot, sample_copy)

    crop_id = asyncio.run(drive())
    ws = Workspace.open(sample_copy)
    assert tag_of(ws.proc_backups(crop_id)[0]) == 4242  # the colleague's cutout is kept
    # proc.png is the TUI user's cutout now, and meta.json holds the TUI's recipe, not the colleague's.
    assert ws.proc_path(crop_id).read_bytes() != ws.proc_backups(crop_id)[0].read_bytes()
    assert ws.load_crop_meta(crop_id).cleanup.seed != 4242


def test_tui_warns_when_saving_over_a_cutout_saved_elsewhere(sample_copy: Path) -> None:
    import asyncio

    from garbtui.tui import GarbApp

    async def drive() -> list[str]:
        app = GarbApp(sample_copy)
        async with app.run_test(size=(160, 48)) as pilot:
            await _save_in_tui_after_someone_else(app, pilot, sample_copy)
            return [n.message for n in app._notifications if n.severity in ("warning", "error")]

    warnings = asyncio.run(drive())
    assert any("another" in m.lower() or "elsewhere" in m.lower() or "meanwhile" in m.lower() for m in warnings)


def test_two_extracts_of_one_export_at_once(tmp_path: Path) -> None:
    """Two people run the same extraction into one workspace at the same moment: one clean result."""
    import os
    import subprocess
    import sys

    from garbtui.cli import main
    from garbtui.core.workspace.check import check_workspace
    from tests.conftest import LABELSTUDIO, REPO

    def args(ws: Path) -> list[str]:
        return ["extract", str(LABELSTUDIO / "taco_sample.json"), "-w", str(ws), "--local-files-root",
                str(LABELSTUDIO.parent), "-q"]

    reference = tmp_path / "reference"
    assert main(args(reference)) == 0
    shared = tmp_path / "shared"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-m", "garbtui", *args(shared)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors

    def files(root: Path) -> dict[Path, bytes]:
        return {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file() and p.name != ".lock"}

    assert files(shared) == files(reference)  # same files, same bytes, nothing twice, no temporary file left
    assert check_workspace(Workspace.open(shared)) == []


def test_copying_onto_a_link_of_the_same_file_leaves_no_temporary_file(tmp_path: Path) -> None:
    """What two extracts of one photo do at the same moment: the second copy finds the first one's link."""
    import os

    from garbtui.core.workspace.atomic import atomic_copy

    src = tmp_path / "photo.jpg"
    src.write_bytes(PHOTO.read_bytes())
    os.link(src, tmp_path / "image.jpg")  # the other process's copy, as a hard link to the source
    atomic_copy(src, tmp_path / "image.jpg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["image.jpg", "photo.jpg"]
