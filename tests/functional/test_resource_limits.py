"""Resource bounds: decompression bombs and huge images are refused by name and limit, not by the OOM killer."""

from __future__ import annotations

import json
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import pytest

from garbtui.core.errors import ImageTooLargeError, InputError
from garbtui.core.workspace.imageio import DEFAULT_MAX_PIXELS, probe_image, read_rgb
from garbtui.core.workspace.rle import coco_rle_decode, decode_ls_rle
from tests.conftest import PHOTOS, REPO, copy_sample
from tests.helpers.pilot import settled

# Every CLI run below happens in a child process whose address space is capped: if a guard were
# missing, decoding 30000x30000 (2.7 GB as BGR) would fail there instead of taking the machine down.
MEMORY_CAP = 3 * 1024 ** 3
PEAK_RSS_LIMIT_MB = 600
PHOTO = PHOTOS / "front" / "taco_b1_000032.jpg"  # 960 x 1280


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(path: Path, width: int, height: int) -> Path:
    """A real, valid PNG of width x height black pixels at 1 bit per pixel: tiny on disk, huge decoded."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    comp = zlib.compressobj(9)
    parts = [comp.compress(row * 1000) for _ in range(height // 1000)]
    parts.append(comp.compress(row * (height % 1000)))
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", b"".join(parts))
                     + _chunk(b"IEND", b""))
    return path


def jpeg_declaring(path: Path, width: int, height: int) -> Path:
    """A real photo's JPEG with its frame header saying width x height (what a crafted file looks like)."""
    data = bytearray(PHOTO.read_bytes())
    i = 2
    while i < len(data):
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            data[i + 5:i + 9] = struct.pack(">HH", height, width)
            path.write_bytes(bytes(data))
            return path
        i += 2 + length
    raise AssertionError("no frame header in the test photo")


@pytest.fixture(scope="module")
def big_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("big")
    return {
        "bomb": png_bomb(folder / "bomb.png", 30000, 30000),
        "huge": jpeg_declaring(folder / "huge.jpg", 20000, 20000),
    }


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run garbtui in a child with capped address space; its own peak RSS (MB) is in .peak_mb."""
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))

    full_env = {k: v for k, v in os.environ.items() if k != "GARBTUI_MAX_PIXELS"}
    full_env |= {"PYTHONPATH": str(REPO), **(env or {})}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen([sys.executable, "-m", "garbtui", *args], env=full_env, stdout=out, stderr=err,
                                 text=True, preexec_fn=cap)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        proc = subprocess.CompletedProcess(args, child.returncode, out.read(), err.read())
    assert proc.returncode >= 0, f"killed by signal {-proc.returncode}: {proc.stderr[-2000:]}"
    assert "Traceback" not in proc.stderr and "MemoryError" not in proc.stderr, proc.stderr[-2000:]
    proc.peak_mb = usage.ru_maxrss / 1024  # type: ignore[attr-defined]  # carried on the result for the caller
    assert proc.peak_mb < PEAK_RSS_LIMIT_MB, f"garbtui {' '.join(args)} peaked at {proc.peak_mb:.0f} MB"
    return proc


def test_bomb_files_are_what_they_claim(big_files: dict[str, Path]) -> None:
    assert big_files["bomb"].stat().st_size < 200_000
    assert big_files["huge"].stat().st_size < 1_000_000
    with pytest.raises(ImageTooLargeError, match=r"30000x30000 = 900 MP, over the limit of 120 MP"):
        probe_image(big_files["bomb"])
    with pytest.raises(ImageTooLargeError, match=r"20000x20000 = 400 MP.*GARBTUI_MAX_PIXELS"):
        read_rgb(big_files["huge"])


def test_limit_is_configurable(monkeypatch: pytest.MonkeyPatch, big_files: dict[str, Path]) -> None:
    assert probe_image(PHOTO).width == 960
    monkeypatch.setenv("GARBTUI_MAX_PIXELS", "1000000")
    with pytest.raises(ImageTooLargeError, match="over the limit of 1 MP"):
        read_rgb(PHOTO)
    monkeypatch.setenv("GARBTUI_MAX_PIXELS", str(1000 * 1000 * 1000))
    assert probe_image(big_files["bomb"]).width == 30000  # raised above it: the header passes the check
    monkeypatch.setenv("GARBTUI_MAX_PIXELS", "not a number")
    assert probe_image(PHOTO).width == 960  # a typo falls back to the default rather than to no limit
    assert DEFAULT_MAX_PIXELS == 120_000_000


def _coco_export(folder: Path, images: dict[str, tuple[int, int]]) -> Path:
    doc = {"images": [], "annotations": [], "categories": [{"id": 1, "name": "Drink can"}]}
    for n, (name, (w, h)) in enumerate(images.items(), start=1):
        doc["images"].append({"id": n, "file_name": name, "width": w, "height": h})
        doc["annotations"].append({"id": n, "image_id": n, "category_id": 1, "bbox": [100, 100, 200, 300]})
    path = folder / "export.json"
    path.write_text(json.dumps(doc))
    return path


def test_extract_refuses_bombs_and_keeps_the_rest(tmp_path: Path, big_files: dict[str, Path]) -> None:
    for name in ("bomb.png", "huge.jpg"):
        shutil.copy(big_files[name.split(".")[0]], tmp_path / name)
    shutil.copy(PHOTO, tmp_path / "photo.jpg")
    export = _coco_export(tmp_path, {"bomb.png": (30000, 30000), "huge.jpg": (20000, 20000), "photo.jpg": (960, 1280)})
    proc = run_cli("extract", str(export), "-w", str(tmp_path / "ws"))
    assert proc.returncode == 1, proc.stderr  # some objects skipped, the rest extracted
    assert "bomb.png: image is 30000x30000 = 900 MP, over the limit of 120 MP" in proc.stderr
    assert "huge.jpg: image is 20000x20000 = 400 MP, over the limit of 120 MP" in proc.stderr
    assert "GARBTUI_MAX_PIXELS" in proc.stderr
    assert "1 new crop(s)" in proc.stdout
    # The same limit, set lower, refuses the ordinary photo too; nothing is written for it.
    proc = run_cli("extract", str(export), "-w", str(tmp_path / "ws2"), env={"GARBTUI_MAX_PIXELS": "500000"})
    assert proc.returncode == 2
    assert "photo.jpg: image is 960x1280 = 1.23 MP, over the limit of 0.5 MP" in proc.stderr
    assert not list((tmp_path / "ws2").glob("crops/*"))


def test_background_add_refuses_bombs(tmp_path: Path, big_files: dict[str, Path]) -> None:
    ws = str(tmp_path / "ws")
    for key, size in (("bomb", "30000x30000 = 900 MP"), ("huge", "20000x20000 = 400 MP")):
        proc = run_cli("background", "add", str(big_files[key]), "-w", ws, "--scene", "road")
        assert proc.returncode == 2, proc.stderr
        assert size in proc.stderr and "over the limit of 120 MP" in proc.stderr
    assert not list((tmp_path / "ws" / "backgrounds").glob("*/meta.json"))


def test_clean_refuses_a_bomb_put_in_place_of_raw_png(tmp_path: Path, big_files: dict[str, Path]) -> None:
    root = tmp_path / "ws"
    copy_sample(root)
    crops = sorted(p.name for p in (root / "crops").iterdir())
    bombed, other = crops[0], crops[1]
    shutil.copy(big_files["bomb"], root / "crops" / bombed / "raw.png")
    proc = run_cli("clean", bombed, other, "-w", str(root), "--workers", "1")
    assert proc.returncode == 1, proc.stderr
    assert f"crop {bombed}:" in proc.stderr and "30000x30000 = 900 MP, over the limit of 120 MP" in proc.stderr
    assert (root / "crops" / other / "proc.png").is_file()  # the other crop is cleaned all the same
    assert not (root / "crops" / bombed / "proc.png").exists()
    proc = run_cli("clean", other, "-w", str(root), "--force", env={"GARBTUI_MAX_PIXELS": "100"})
    assert proc.returncode == 1 and "over the limit" in proc.stderr
    proc = run_cli("status", "-w", str(root), "--check")
    assert proc.returncode == 1 and f"crops/{bombed}/raw.png: image is 30000x30000" in proc.stdout


def test_masks_claiming_huge_sizes_are_refused_before_allocating() -> None:
    with pytest.raises(InputError, match="COCO RLE mask of 100000x100000 is over the limit"):
        coco_rle_decode({"size": [100000, 100000], "counts": [5, 10]})
    with pytest.raises(InputError, match="size"):
        coco_rle_decode({"size": [-5, 10], "counts": [5]})
    # A Label Studio RLE header may claim 4 G values; the declared size is checked first.
    with pytest.raises(InputError, match="brush mask of 40000x40000 is over the limit"):
        decode_ls_rle([255, 255, 255, 255, 0, 0, 0], 40000, 40000)


def test_extract_refuses_huge_masks_in_an_export(tmp_path: Path) -> None:
    shutil.copy(PHOTO, tmp_path / "photo.jpg")
    doc = {"images": [{"id": 1, "file_name": "photo.jpg", "width": 960, "height": 1280}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
                            "segmentation": {"size": [90000, 90000], "counts": [10, 20]}},
                           {"id": 2, "image_id": 1, "category_id": 1, "bbox": [10, 10, 50, 50]}],
           "categories": [{"id": 1, "name": "can"}]}
    (tmp_path / "export.json").write_text(json.dumps(doc))
    proc = run_cli("extract", str(tmp_path / "export.json"), "-w", str(tmp_path / "ws"))
    assert proc.returncode == 1 and "COCO RLE mask of 90000x90000 is over the limit" in proc.stderr
    assert "1 new crop(s)" in proc.stdout


def _tree_rss_mb(pid: int) -> float:
    """RSS of a process and all its descendants, from /proc (Linux)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, StopIteration, PermissionError):
            continue
    return total / 1024


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc")
def test_generate_memory_stays_flat_over_1000_images(tmp_path: Path) -> None:
    from garbtui.cli import main

    ws = tmp_path / "ws"
    copy_sample(ws)
    assert main(["clean", "-w", str(ws)]) == 0
    out = tmp_path / "out"
    count = 1000
    child = subprocess.Popen([sys.executable, "-m", "garbtui", "generate", "-w", str(ws), "--out", str(out),
                              "--count", str(count), "--workers", "2", "--size", "160x120", "-q"],
                             env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    samples: list[tuple[int, float]] = []
    folders = [out / "images" / "train", out / "images" / "val"]

    def images() -> int:
        return sum(sum(1 for _ in f.iterdir()) for f in folders if f.is_dir())

    while child.poll() is None:
        samples.append((images(), _tree_rss_mb(child.pid)))
        time.sleep(0.05)
    assert child.returncode == 0, child.stderr.read() if child.stderr else ""
    assert images() == count
    early = [rss for done, rss in samples if 0.2 * count <= done <= 0.3 * count]
    late = [rss for done, rss in samples if 0.8 * count <= done <= 0.95 * count]
    assert early and late, "the sampler missed the run"
    # Flat: the whole job (main + workers) holds no more after 900 images than after 250.
    assert max(late) <= 1.10 * max(early) + 16, (max(early), max(late))


def test_tui_browses_a_workspace_with_bombs_in_it(tmp_path: Path, big_files: dict[str, Path],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A bomb in place of a raw.png and of a background photo: previews say why, the app keeps running."""
    import asyncio

    from garbtui.tui import GarbApp

    monkeypatch.setenv("GARBTUI_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("GARBTUI_IMAGE_PROTOCOL", "halfcell")
    root = tmp_path / "ws"
    copy_sample(root)
    crops = sorted(p.name for p in (root / "crops").iterdir())
    shutil.copy(big_files["bomb"], root / "crops" / crops[0] / "raw.png")
    background = sorted((root / "backgrounds").glob("*/image.jpg"))[0]
    shutil.copy(big_files["huge"], background)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    async def drive() -> None:
        app = GarbApp(root)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause(0.3)
            for _ in range(3):
                await pilot.press("down")
                await pilot.pause(0.05)
            await pilot.press("up", "up", "up")
            await pilot.pause(0.3)
            await pilot.press("i")
            await pilot.pause(0.3)
            # The backgrounds list ("b"), each one previewed and its horizon estimated ("e"), bomb included.
            for key in ("b", "e", "down", "e", "down", "e", "up", "up"):
                await pilot.press(key)
                await pilot.pause(0.1)
            await settled(pilot)
            assert app.is_running

    asyncio.run(drive())
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
    assert grown < 400, f"the test process grew by {grown:.0f} MB while the TUI looked at the bombs"


def test_generate_refuses_bombs_among_fragments_and_backgrounds(tmp_path: Path, big_files: dict[str, Path]) -> None:
    from garbtui.cli import main

    root = tmp_path / "ws"
    copy_sample(root)
    assert main(["clean", "-w", str(root)]) == 0
    proc_png = sorted((root / "crops").glob("*/proc.png"))[0]
    shutil.copy(big_files["bomb"], proc_png)
    # 640x480: at 160x120 no fragment is big enough on these backgrounds, and a run of only empty images exits 1.
    args = ["generate", "-w", str(root), "--count", "6", "--workers", "2", "--size", "640x480", "-q"]
    proc = run_cli(*args, "--out", str(tmp_path / "out1"))
    assert proc.returncode == 0, proc.stderr  # the bombed fragment is left out, with the reason
    assert f"crop {proc_png.parent.name} skipped" in proc.stderr and "900 MP, over the limit of 120 MP" in proc.stderr
    background = sorted((root / "backgrounds").glob("*/image.jpg"))[0]
    shutil.copy(big_files["huge"], background)
    proc = run_cli(*args, "--out", str(tmp_path / "out2"), "--background", background.parent.name)
    # A bombed background is refused by name and limit (today the whole run stops: exit 2).
    assert proc.returncode in (0, 2), proc.stderr
    assert f"{background}: image is 20000x20000 = 400 MP, over the limit of 120 MP" in proc.stderr


def run_cli_small_disk(*args: str, max_file: int) -> subprocess.CompletedProcess[str]:
    """garbtui with no file allowed to grow past `max_file` bytes: writes fail as on a full disk."""
    import signal

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write then fails with EFBIG instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file, max_file))

    return subprocess.run([sys.executable, "-m", "garbtui", *args], env={**os.environ, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, preexec_fn=limit, timeout=120)


def test_full_disk_is_a_clear_error_and_a_rerun_finishes(tmp_path: Path) -> None:
    from garbtui.cli import main
    from tests.conftest import LABELSTUDIO
    from tests.functional.test_crash_safety import complete_files_only

    def extract_args(ws: Path) -> list[str]:
        return ["extract", str(LABELSTUDIO / "taco_sample.json"), "-w", str(ws), "--local-files-root",
                str(LABELSTUDIO.parent)]

    reference = tmp_path / "reference"
    assert main([*extract_args(reference), "-q"]) == 0
    ws = tmp_path / "ws"
    proc = run_cli_small_disk(*extract_args(ws), max_file=150_000)
    assert proc.returncode in (1, 2), proc.stderr
    assert "cannot write: File too large" in proc.stderr and "Traceback" not in proc.stderr
    assert not complete_files_only(ws), "no temporary file is left behind"
    assert main([*extract_args(ws), "-q"]) == 0  # space again: the re-run finishes the job
    files = {p.relative_to(ws): p.read_bytes() for p in ws.rglob("*") if p.is_file() and p.name != ".lock"}
    ref = {p.relative_to(reference): p.read_bytes() for p in reference.rglob("*") if p.is_file() and p.name != ".lock"}
    assert files == ref
    # clean on a full disk: each crop fails with the reason, nothing is half-written, a re-run completes.
    proc = run_cli_small_disk("clean", "-w", str(ws), "--workers", "2", max_file=4_000)
    assert proc.returncode == 1 and "cannot write: File too large" in proc.stderr and "Traceback" not in proc.stderr
    assert not complete_files_only(ws)
    assert main(["clean", "-w", str(ws)]) == 0
    assert main(["status", "-w", str(ws), "--check"]) == 0


def test_write_errors_are_garb_errors_and_os_errors(tmp_path: Path) -> None:
    from garbtui.core.errors import GarbError, WriteError
    from garbtui.core.workspace.atomic import atomic_copy, atomic_write_text

    (tmp_path / "file").write_text("a file where a folder should be")
    for write in (lambda: atomic_write_text(tmp_path / "file" / "a.json", "new"),
                  lambda: atomic_copy(tmp_path / "file", tmp_path / "file" / "copy")):
        with pytest.raises(WriteError) as info:
            write()
        # One clear line for the CLI, and still an OSError for code that handled failed writes that way.
        assert isinstance(info.value, GarbError) and isinstance(info.value, OSError)
        assert str(info.value).startswith(str(tmp_path / "file")) and "cannot write:" in str(info.value)
    assert (tmp_path / "file").read_text() == "a file where a folder should be"
    assert os.listdir(tmp_path) == ["file"]
