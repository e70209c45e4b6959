"""A damaged or planted workspace: non-regular files, endless files, planted links, other programs' temporary
files, numbers that pass the model but make no sense, renders whose labels describe another render, and
folders garbtui may not write. Each ends in a one-line error or a `status --check` line, never a hang,
a traceback, or a file written where a link points.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from garbtui.cli import main
from garbtui.core.workspace.check import check_workspace
from garbtui.core.workspace.models import Placement, Scene
from garbtui.core.workspace.store import Workspace
from tests.conftest import PHOTOS, REPO, SAMPLE_DATA

HIGHWAY = PHOTOS / "clean" / "udacity_adv_straight_lines1.jpg"
ROAD_BG = "udacity_adv_straight_lines1-35258e"
FRONT_BG = "taco_b2_000044_crop_paving-3b8051"


def copy_sample(root: Path) -> Workspace:
    shutil.copytree(SAMPLE_DATA / "workspace", root, ignore=shutil.ignore_patterns(".lock", ".*.lock"))
    return Workspace.open(root)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return copy_sample(tmp_path / "ws")


def run_cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """garbtui in a process of its own, with a deadline: a hang fails the test instead of the suite."""
    return subprocess.run([sys.executable, "-m", "garbtui", *args], env={**os.environ, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=timeout)


def problems_of(ws: Workspace) -> dict[str, str]:
    return dict(check_workspace(ws))


# -- non-regular files and unbounded sizes --------------------------------------------------------------------
PLANTS: dict[str, tuple[Callable[[Path], None], str]] = {
    "fifo": (os.mkfifo, "is a FIFO (named pipe), not a regular file"),
    "device": (lambda p: p.symlink_to("/dev/zero"), "is a device, not a regular file"),
    "folder": (lambda p: p.mkdir(), "is a folder, not a regular file"),
    "endless": (lambda p: (p.write_bytes(b""), os.truncate(p, 65 << 20)), "over the limit of 64.0 MB"),
}


@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_a_crop_meta_that_is_not_a_small_regular_file_is_a_broken_crop(ws: Workspace, plant: str) -> None:
    crop = ws.crop_ids()[0]
    meta = ws.crop_dir(crop) / "meta.json"
    meta.unlink()
    make, reason = PLANTS[plant]
    make(meta)
    proc = run_cli("status", "-w", str(ws.root), "--check")  # a hang on the FIFO would hit run_cli's deadline
    assert proc.returncode == 1 and f"crops/{crop}: " in proc.stdout and reason in proc.stdout, proc.stdout
    proc = run_cli("clean", "-w", str(ws.root), crop)
    assert proc.returncode == 1 and reason in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("plant", ["fifo", "device", "folder"])
def test_photos_and_scenes_that_are_not_regular_files_are_reported(ws: Workspace, plant: str) -> None:
    image = ws.background_path(ROAD_BG)
    image.unlink()
    PLANTS[plant][0](image)
    scene = ws.scene_dir("s1") / "scene.json"
    scene.parent.mkdir(parents=True)
    PLANTS[plant][0](scene)
    proc = run_cli("status", "-w", str(ws.root), "--check")
    assert proc.returncode == 1, proc.stderr
    assert f"backgrounds/{ROAD_BG}: " in proc.stdout and "scenes/s1: " in proc.stdout
    proc = run_cli("render", str(scene.parent))
    assert proc.returncode in (2, 3) and "Traceback" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("plant", ["fifo", "device", "endless"])
def test_a_background_meta_that_is_not_a_small_regular_file_is_one_line(ws: Workspace, plant: str,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    meta = ws.background_dir(FRONT_BG) / "meta.json"
    meta.unlink()
    make, reason = PLANTS[plant]
    make(meta)
    assert main(["background", "list", "-w", str(ws.root)]) == 1  # the others are still listed
    captured = capsys.readouterr()
    assert ROAD_BG in captured.out and FRONT_BG not in captured.out
    assert f"garbtui: background {FRONT_BG}: broken: " in captured.err and reason in captured.err
    assert main(["status", "-w", str(ws.root), "--check"]) == 1
    assert f"backgrounds/{FRONT_BG}: " in capsys.readouterr().out


# -- planted links ----------------------------------------------------------------------------------------------
def test_a_lock_file_that_is_a_link_is_refused_and_creates_nothing(ws: Workspace, tmp_path: Path) -> None:
    crop = ws.crop_ids()[0]
    targets = []
    for n, (folder, name) in enumerate([(ws.crop_dir(crop), ".lock"), (ws.crop_dir(crop), ".clean.lock"),
                                        (ws.background_dir(ROAD_BG), ".lock")]):
        target = tmp_path / f"planted-{n}"
        (folder / name).symlink_to(target)
        targets.append(target)
    proc = run_cli("clean", "-w", str(ws.root), crop)
    assert proc.returncode == 1 and "cannot lock: it is a symbolic link (refused)" in proc.stderr
    proc = run_cli("background", "horizon", ROAD_BG, "400", "-w", str(ws.root))
    assert proc.returncode == 3 and "cannot lock: it is a symbolic link (refused)" in proc.stderr
    assert not any(os.path.lexists(t) for t in targets)
    # A scene's locks too.
    scene_dir = ws.scene_dir("s1")
    scene_dir.mkdir(parents=True)
    (scene_dir / ".scene.lock").symlink_to(tmp_path / "planted-scene")
    with pytest.raises(OSError, match="symbolic link"):
        ws.save_scene(Scene(id="s1", background_id=ROAD_BG))
    assert not os.path.lexists(tmp_path / "planted-scene")


def test_files_planted_as_links_are_replaced_never_written_through(ws: Workspace, tmp_path: Path) -> None:
    """Every garbtui write is a new file renamed into place: a link planted at the name is replaced, the
    file it points to keeps its bytes."""
    crop = ws.crop_ids()[0]
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    meta = ws.crop_dir(crop) / "meta.json"
    data = meta.read_text()
    meta.unlink()
    (tmp_path / "meta-copy.json").write_text(data)
    meta.symlink_to(tmp_path / "meta-copy.json")
    proc_link = ws.crop_dir(crop) / "proc.png"
    proc_link.symlink_to(victim)
    assert main(["clean", "-w", str(ws.root), crop, "--force"]) == 0
    assert victim.read_text() == "precious" and (tmp_path / "meta-copy.json").read_text() == data
    assert not meta.is_symlink() and not proc_link.is_symlink()


# -- temporary files: only garbtui's, only in garbtui's folders ------------------------------------------------
def test_sweeps_remove_only_dead_garbtui_temporary_files_in_garbtui_folders(ws: Workspace) -> None:
    crop = ws.crop_ids()[0]
    root = ws.root
    dead = 4_000_000  # above pid_max's default: no such process
    ours = [root / "crops" / crop / f".raw.png.garbtui-{dead}-ab12.tmp",
            root / f".workspace.json.garbtui-{dead}-cd34.tmp",
            root / "images" / f".x.garbtui-{dead}-0.tmp"]
    stale_stage = root / "scenes" / "s1" / f".render.garbtui-{dead}-ef56.tmp"
    theirs = [root / "crops" / crop / f".notes.{dead}.1.tmp",  # another program's pattern of the old sweep
              root / "crops" / crop / ".x.tmp",
              root / "notes" / f".x.garbtui-{dead}-aa.tmp",  # a garbtui-like name outside garbtui's folders
              root / "crops" / crop / f".raw.png.garbtui-{os.getpid()}-live.tmp"]  # a live writer's
    for path in ours + theirs:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    (stale_stage / "labels").mkdir(parents=True)
    (stale_stage / "labels" / "coco.json").write_text("{}")
    export = SAMPLE_DATA / "export" / "taco_sample.json"
    assert main(["extract", str(export), "-w", str(root), "--local-files-root", str(export.parent), "-q"]) == 0
    assert not any(p.exists() for p in ours) and not stale_stage.exists()
    assert all(p.exists() for p in theirs)


# -- numbers that pass the model but make no sense --------------------------------------------------------------
def edit_meta(path: Path, **changes: object) -> None:
    data = json.loads(path.read_text())
    for key, value in changes.items():
        target = data
        *parents, last = key.split("__")
        for part in parents:
            target = target[part]
        target[last] = value
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(("changes", "reason"), [
    ({"horizon_row": 5000}, "the horizon row 5000 is outside the image (0..719)"),
    ({"horizon_row": -3}, "the horizon row -3 is outside the image"),
    ({"camera_height_m": 1e-310}, "camera_height_m"),
    ({"camera_height_m": 1e9}, "camera_height_m"),
    ({"placement__y_min": 700, "placement__y_max": 500}, "the placement band is empty: y_min 700 is below y_max 500"),
    ({"placement__y_max": 1e5}, "the placement band's y_max 100000 is outside the image"),
    ({"placement__polygons": [[[0, 0], [10, 10], [20, 20]]]}, "placement polygon 0 has no area"),
    ({"placement__polygons": [[[0, 0], [10, 10]]]}, "placement polygon 0 has no area"),
    ({"width": 640}, "1280x720 but meta.json says 640x720"),
    ({"height": 0}, "height"),
    ({"horizon_confidence": 7}, "horizon_confidence"),
])
def test_background_numbers_that_make_no_sense_are_reported(ws: Workspace, changes: dict, reason: str,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["clean", "-w", str(ws.root), ws.crop_ids()[0]]) == 0  # a fragment, so generate can run
    edit_meta(ws.background_dir(ROAD_BG) / "meta.json", **changes)
    assert main(["status", "-w", str(ws.root), "--check"]) == 1
    out = capsys.readouterr().out
    assert f"backgrounds/{ROAD_BG}: " in out and reason in out, out
    # generate does not silently make empty images from it: alone, the run stops with the reason; never a
    # traceback.
    rc = main(["generate", "-w", str(ws.root), "--count", "1", "--out", str(ws.root.parent / "out"), "-q",
               "--background", ROAD_BG, "--size", "160x120"])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err and "no usable background" in err, err
    assert f"background {ROAD_BG} skipped: " in err and (reason in err or "camera_height" in reason), err
    # With every background: the unusable one is skipped with its reason, the run goes on with the others.
    rc = main(["generate", "-w", str(ws.root), "--count", "2", "--out", str(ws.root.parent / "all"), "-q",
               "--size", "640x480", "--workers", "1"])  # at 160x120 nothing fits: a run of empty images is exit 1
    err = capsys.readouterr().err
    assert rc == 0 and f"garbtui: warning: background {ROAD_BG} skipped: " in err, err


def test_scene_and_crop_numbers_that_make_no_sense_are_refused(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    crop = ws.crop_ids()[0]
    for changes, reason in [
        ({"origin_x": -5}, "origin_x"),
        ({"crop_width": 10**9}, "crop_width"),
        ({"origin_x": 1000, "image_width": 1100}, "reaches past its"),
        ({"region__bbox__x1": -1e300}, "region.bbox"),
        ({"margin": 1e9}, "margin"),
    ]:
        path = ws.crop_dir(crop) / "meta.json"
        before = path.read_text()
        edit_meta(path, **changes)
        assert main(["status", "-w", str(ws.root), "--check"]) == 1
        out = capsys.readouterr().out
        assert f"crops/{crop}: " in out and reason in out, (changes, out)
        path.write_text(before)
    for changes, reason in [
        ({"seed": -1}, "seed"),
        ({"placements": [{"crop_id": crop, "x": 1e300, "y": 10}]}, "placements.0.x"),
        ({"placements": [{"crop_id": crop, "x": 1, "y": 10, "rotation": 1e300}]}, "rotation"),
        ({"placements": [{"crop_id": crop, "x": 1, "y": 10, "scale": 0}]}, "scale"),
    ]:
        folder = ws.scene_dir("s1")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "scene.json").write_text(json.dumps({"id": "s1", "background_id": ROAD_BG, **changes}))
        assert main(["render", str(folder)]) == 3
        err = capsys.readouterr().err
        assert reason in err and "Traceback" not in err, err


def test_camera_height_and_horizon_are_bounded_when_typed(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    for value in ("1e-310", "0", "-1", "1e9", "nan", "inf"):
        assert main(["background", "add", str(HIGHWAY), "-w", str(ws.root), "--scene", "road", "--horizon", "400",
                     "--camera-height", value]) == 2, value
        assert "camera height" in capsys.readouterr().err
    for row in ("5000", "-1", "720", "nan"):
        assert main(["background", "horizon", ROAD_BG, row, "-w", str(ws.root)]) == 2, row
        assert "outside background" in capsys.readouterr().err or row == "nan"


def test_a_background_id_typed_that_could_not_name_a_folder_is_bad_input(ws: Workspace, tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    before = sorted(p.name for p in (ws.root / "backgrounds").iterdir())
    for bad in ("a\nb", "../x", "x/y", ".."):
        assert main(["background", "add", str(HIGHWAY), "-w", str(ws.root), "--scene", "road", "--id", bad]) == 2, bad
        err = capsys.readouterr().err
        assert "--id: unsafe background id" in err and "\n" not in err.rstrip("\n"), err
        assert main(["background", "horizon", bad, "400", "-w", str(ws.root)]) == 2, bad
        assert "unsafe background id" in capsys.readouterr().err
    assert sorted(p.name for p in (ws.root / "backgrounds").iterdir()) == before
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a workspace")
    assert main(["status", "-w", str(a_file)]) == 3
    assert "is a file, not a workspace folder" in capsys.readouterr().err


# -- a render and its labels are one pair -----------------------------------------------------------------------
@pytest.fixture
def rendered(ws: Workspace) -> Workspace:
    crops = ws.crop_ids()[:2]
    assert main(["clean", "-w", str(ws.root), *crops]) == 0
    for scene_id, y in (("s1", 600), ("s2", 650)):
        ws.save_scene(Scene(id=scene_id, background_id=ROAD_BG, placements=[
            Placement(crop_id=c, x=400 + 300 * i, y=y) for i, c in enumerate(crops)]))
        assert main(["render", str(ws.scene_dir(scene_id)), "-q"]) == 0
    assert problems_of(ws) == {}
    return ws


def test_status_check_reports_a_render_and_labels_that_disagree(rendered: Workspace) -> None:
    ws = rendered
    s1, s2 = ws.scene_dir("s1"), ws.scene_dir("s2")
    shutil.copyfile(s2 / "render.jpg", s1 / "render.jpg")  # a render from another scene beside s1's labels
    assert "come from different renders" in problems_of(ws)["scenes/s1"]
    (s1 / "labels" / ".render.sha1").unlink()  # labels from before the stamp: the size still says
    shutil.copyfile(PHOTOS / "clean" / "taco_b2_000044_crop_paving.jpg", s1 / "render.jpg")
    assert "describes a 1280x720 image but render.jpg is 1280x948" in problems_of(ws)["scenes/s1"]
    shutil.rmtree(s1 / "labels")
    assert "render.jpg without labels/" in problems_of(ws)["scenes/s1"]
    (s2 / "render.jpg").unlink()
    assert "labels/ without render.jpg" in problems_of(ws)["scenes/s2"]
    assert main(["render", str(s1), "-q"]) == 0 and main(["render", str(s2), "-q"]) == 0
    assert problems_of(ws) == {}


def test_an_interrupted_render_is_reported_and_the_next_render_cleans_up(rendered: Workspace) -> None:
    ws = rendered
    folder = ws.scene_dir("s1")
    stage = folder / ".render.garbtui-4000000-dead.tmp"
    (stage / "labels").mkdir(parents=True)
    shutil.copyfile(folder / "render.jpg", stage / "render.jpg")
    (folder / ".labels.old").mkdir()
    reasons = problems_of(ws)["scenes/s1"]
    assert "left by an interrupted render" in reasons
    assert main(["render", str(folder), "-q"]) == 0
    assert not stage.exists() and not (folder / ".labels.old").exists()
    assert problems_of(ws) == {}


def test_render_on_a_full_disk_changes_neither_file(rendered: Workspace) -> None:
    from tests.functional.test_resource_limits import run_cli_small_disk

    folder = rendered.scene_dir("s1")
    before = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file() and "lock" not in p.name}
    rendered.save_scene(rendered.load_scene("s1").model_copy(update={"seed": 5}))  # something new to render
    for limit in (1_000, 100_000):  # render.jpg, the largest file, cannot be written: nothing changes
        proc = run_cli_small_disk("render", str(folder), max_file=limit)
        assert proc.returncode == 3 and "cannot write: File too large" in proc.stderr, proc.stderr
        after = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*")
                 if p.is_file() and "lock" not in p.name and p.name != "scene.json" and "scene.bak" not in p.name}
        assert after == {k: v for k, v in before.items() if k.name != "scene.json"}, limit
        assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert problems_of(rendered) == {}


# -- folders garbtui may not write -------------------------------------------------------------------------------
def blocked(path: Path) -> None:
    """Put a file where garbtui needs a folder: mkdir fails as on a read-only or vanished folder, for root too."""
    if path.is_dir():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("a file where a folder should be")


def test_a_folder_that_cannot_be_made_is_cannot_write_in_every_command(rendered: Workspace, tmp_path: Path) -> None:
    ws = rendered
    root = str(ws.root)
    image = ws.image_ids()[0]
    cases = []
    blocked(tmp_path / "ex" / "crops")
    cases.append(("extract", str(SAMPLE_DATA / "export" / "taco_sample.json"), "-w", str(tmp_path / "ex"),
                  "--local-files-root", str(SAMPLE_DATA / "export")))
    blocked(tmp_path / "bg" / "backgrounds")
    cases.append(("background", "add", str(HIGHWAY), "-w", str(tmp_path / "bg"), "--scene", "road"))
    blocked(tmp_path / "file-as-out")
    cases.append(("generate", "-w", root, "--count", "2", "--out", str(tmp_path / "file-as-out" / "x"),
                  "--size", "160x120"))
    blocked(ws.scene_dir("blocked"))
    cases.append(("recreate", "-w", root, "--reference", image, "--onto", ROAD_BG, "--id", "blocked"))
    for args in cases:
        proc = run_cli(*args)
        assert proc.returncode in (1, 2, 3), (args, proc.stderr)
        assert "Traceback" not in proc.stderr and "cannot write" in proc.stderr, (args, proc.stderr)


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A folder every account can enter (pytest's tmp_path sits in folders only root may enter)."""
    path = Path(tempfile.mkdtemp(prefix="garbtui-ro-"))
    path.chmod(0o755)
    yield path
    for sub in [path, *path.rglob("*")]:
        if sub.is_dir() and not sub.is_symlink():
            sub.chmod(0o755)
    shutil.rmtree(path, ignore_errors=True)


def test_read_only_folders_are_cannot_write(open_dir: Path) -> None:
    """A workspace the user may read but not write: each command says `cannot write`, never a traceback.

    Root writes anywhere: the commands then run in a child process that has given up root (the modules
    are loaded first, so the child needs no file the other account could not read)."""
    import garbtui.commands.background  # noqa: F401 - loaded before the child gives up root
    import garbtui.core.export.scene_files  # noqa: F401
    import garbtui.core.recreate  # noqa: F401

    base = open_dir
    ws = copy_sample(base / "ws")
    crops = ws.crop_ids()[:2]
    assert main(["clean", "-w", str(ws.root), *crops]) == 0
    ws.save_scene(Scene(id="s1", background_id=ROAD_BG, placements=[Placement(crop_id=crops[0], x=500, y=600)]))
    assert main(["render", str(ws.scene_dir("s1")), "-q"]) == 0  # warms every import the child needs
    for path in [base, *base.rglob("*")]:
        os.chmod(path, 0o555 if path.is_dir() else 0o444)
    image = ws.image_ids()[0]
    for args in (
        ["render", str(ws.scene_dir("s1"))],
        ["recreate", "-w", str(ws.root), "--reference", image, "--onto", ROAD_BG, "--id", "new"],
        ["background", "add", str(HIGHWAY), "-w", str(ws.root), "--scene", "road", "--horizon", "400"],
        ["background", "horizon", ROAD_BG, "400", "-w", str(ws.root)],
        ["extract", str(SAMPLE_DATA / "export" / "taco_sample.json"), "-w", str(base / "ws-new"),
         "--local-files-root", str(SAMPLE_DATA / "export")],
        ["clean", "-w", str(ws.root), "--force", crops[0]],
    ):
        rc, err = run_without_root(args)
        assert rc in (1, 2, 3) and "Traceback" not in err and ("cannot write" in err or "cannot lock" in err), (args, err)


def run_without_root(args: list[str]) -> tuple[int, str]:
    """main(args) in a forked child that cannot write the read-only files (uid nobody when run as root)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 99
        try:
            os.close(read)
            sys.stderr = os.fdopen(write, "w", buffering=1)  # pytest's capture object is no use here
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the child
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            code = main(args)
        except BaseException as exc:  # reported to the parent as the test's failure text
            os.write(write, f"Traceback (child): {exc!r}\n".encode())
        finally:
            sys.stderr.flush()
            os._exit(code)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode(errors="replace")
