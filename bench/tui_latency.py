"""TUI latency: keypress to repainted preview (512x512 crops, 200x60 cells) and start-up with 5,000 crops.

Driven in-process with Textual's Pilot (headless, half-cell images as over SSH/tmux). A repaint counts
when the preview shows the new picture AND the screen update has been written to the (headless)
driver. Baselines measured in the same run:
  - textual-image's half-cell widget handed the un-shrunk 512x512 image (what a naive app does);
  - a bare Textual app (one Static) for start-up to first paint.

    /work/venv/bin/python bench/tui_latency.py [--crops 5000] [--moves 30]

Per image protocol, through a pseudo-terminal (`--pty`): the real app (`python -m garbtui open`) runs on a
pty of 200x60 cells (10x20 px), and a scripted terminal answers its probe as kitty 0.41.1 / xterm -ti
vt340 do (tests/tui/test_terminal_pty.py). The clock runs from the key's bytes written to the pty to
the last byte of the new picture read back (Sixel: its string terminator; Kitty: the placeholders after
the transmission; half-cells: the last cell row), so it counts everything the app does and writes; what
a real terminal then spends parsing and drawing is measured under Xvfb (see NOTES / README). Baseline in
the same run: textual-image's own widget for the same protocol in a minimal Textual app on the same pty,
handed each 512x512 crop on a key press (what garbtui did before).

    /work/venv/bin/python bench/tui_latency.py --pty [--moves 15]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
ORIGINAL_ENV = dict(os.environ)  # the real-terminal proxy runs the app with these, not the in-process settings
os.environ.setdefault("GARBTUI_IMAGE_PROTOCOL", "halfcell")
# A true-colour terminal (what `garbtui doctor` recommends); with 256 colours Rich spends most of each
# repaint matching every cell's colour to the palette, for any app.
os.environ.setdefault("COLORTERM", "truecolor")
os.environ.setdefault("TEXTUAL_FPS", "120")  # what `garbtui open` sets before Textual is imported
os.environ["GARBTUI_CONFIG_DIR"] = tempfile.mkdtemp(prefix="garbtui-bench-config-")

from garbtui.core.workspace.atomic import encode_png  # noqa: E402 - after sys.path and the environment are set
from garbtui.core.workspace.imageio import read_rgb  # noqa: E402 - after sys.path and the environment are set
from garbtui.core.workspace.models import BBox, CropMeta, Region  # noqa: E402 - after sys.path and the environment are set
from garbtui.core.workspace.store import Workspace  # noqa: E402 - after sys.path and the environment are set

if TYPE_CHECKING:
    from textual.app import App
    from textual.pilot import Pilot
    from textual.screen import Screen

SHARED = Path(os.environ.get("GARBTUI_SHARED", REPO.parent / "shared")).resolve()
PHOTOS = sorted((SHARED / "photos" / "front").glob("*.jpg")) + sorted((SHARED / "photos" / "road").glob("*.jpg"))
SIZE = (200, 60)


def make_workspace(root: Path, n: int, side: int) -> Workspace:
    """n crops of side x side cut from the real photos, with valid metas.

    Bench scaffolding writes plain files: 2 fsyncs per crop (atomic writes) would dominate the set-up time.
    """
    ws = Workspace.create(root)
    photos = [read_rgb(p) for p in PHOTOS[:6]]
    blobs = []
    for i in range(min(n, 24)):
        photo = photos[i % len(photos)]
        y = (i * 97) % (photo.shape[0] - side)
        x = (i * 53) % (photo.shape[1] - side)
        blobs.append(encode_png(np.ascontiguousarray(photo[y : y + side, x : x + side]), 1))
    labels = ("Drink can", "Paper cup", "Plastic bottle", "Crisp packet", "Pop tab")
    for i in range(n):
        crop_id = f"crop-{i:05d}"
        folder = ws.crop_dir(crop_id)
        folder.mkdir(parents=True)
        (folder / "raw.png").write_bytes(blobs[i % len(blobs)])
        m = side // 8
        meta = CropMeta(
            id=crop_id, image_id=f"photo-{i % 50:03d}", source_path="bench.jpg", label=labels[i % len(labels)],
            origin_x=0, origin_y=0, crop_width=side, crop_height=side, image_width=1280, image_height=960,
            region=Region(kind="box", bbox=BBox(x0=m, y0=m, x1=side - m, y1=side - m)), margin=0.15,
            scene="road" if i % 3 else "front",
        )
        (folder / "meta.json").write_text(meta.model_dump_json(indent=2))
    return ws


class PaintClock:
    """Records when the app last finished a screen update, terminal bytes included.

    A headless app renders every update but skips turning it into escape sequences; we do that step
    here too (render_segments), so the figure includes everything a real terminal session pays for.
    """

    def __init__(self, app: App[Any]) -> None:
        from textual._compositor import CompositorUpdate

        self.last = 0.0
        self.bytes = 0
        original = app._display

        def display(screen: Screen[Any], renderable: object) -> None:
            original(screen, renderable)
            if renderable is not None:
                if isinstance(renderable, CompositorUpdate):
                    self.bytes += len(renderable.render_segments(app.console))
                self.last = time.perf_counter()

        app._display = display


def send_key(app: App[Any], key: str) -> float:
    """Deliver a key exactly as the terminal driver does, and return when it was sent.

    Pilot.press also waits for the whole app to go idle (tens of ms); a user does not wait for that,
    so the clock starts at delivery and stops at the repaint.
    """
    from textual import events

    char = {"plus": "+", "minus": "-"}.get(key, key if len(key) == 1 else None)
    event = events.Key(key, char)
    event.set_sender(app)
    t0 = time.perf_counter()
    app._driver.send_message(event)
    return t0


async def wait(pilot: Pilot[Any], cond: Callable[[], object], timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError("app did not respond")
        await asyncio.sleep(0.001)


async def painted_after(pilot: Pilot[Any], clock: PaintClock, t: float) -> float:
    await wait(pilot, lambda: clock.last > t)
    return clock.last


async def bench_queue(ws_root: Path, moves: int, prefetch: bool = True, gap: float = 0.15) -> dict[str, list[float]]:
    from garbtui.tui import GarbApp
    from garbtui.tui.screens.queue import QueueScreen
    from garbtui.tui.widgets.image_view import ImageView

    app = GarbApp(ws_root, remember_theme=False)
    out: dict[str, list[float]] = {"cold": [], "warm": []}
    async with app.run_test(size=SIZE) as pilot:
        clock = PaintClock(app)
        app.screen.prefetch_offsets = QueueScreen.prefetch_offsets if prefetch else ()
        view = app.screen.query_one("#raw-view", ImageView)
        await wait(pilot, lambda: view.shown_key is not None)
        await pilot.pause(0.2)
        for phase, key in (("cold", "down"), ("warm", "up"), ("warm", "down")):
            for _ in range(moves):
                before = view.shown_key
                await pilot.pause(gap)  # a brisk human pace: about 7 keys a second
                t0 = send_key(app, key)
                await wait(pilot, lambda before=before: view.shown_key != before)
                t1 = await painted_after(pilot, clock, view.shown_at)
                out[phase].append(t1 - t0)
    return out


async def bench_baseline(raw: Path, moves: int) -> list[float]:
    """textual-image's HalfcellImage widget given the full-size picture, in the same pane size."""
    from PIL import Image as PILImage
    from textual.app import App, ComposeResult
    from textual.binding import Binding
    from textual.containers import Horizontal
    from textual.widgets import Static

    from garbtui.tui.terminal import detect

    detect("halfcell")
    from textual_image.widget import HalfcellImage

    pictures = [PILImage.open(raw).convert("RGB")]
    pictures.append(pictures[0].transpose(PILImage.Transpose.FLIP_LEFT_RIGHT))

    class Baseline(App):
        BINDINGS = [Binding("n", "next")]
        CSS = "#list { width: 3fr; } #img { width: 2fr; height: 1fr; }"

        def compose(self) -> ComposeResult:
            with Horizontal():
                yield Static("list", id="list")
                yield HalfcellImage(pictures[0], id="img")

        def action_next(self) -> None:
            self.i = getattr(self, "i", 0) + 1
            self.query_one(HalfcellImage).image = pictures[self.i % 2]
            self.changed_at = time.perf_counter()

    app = Baseline()
    times = []
    async with app.run_test(size=SIZE) as pilot:
        clock = PaintClock(app)
        await pilot.pause(0.2)
        for _ in range(moves):
            await pilot.pause(0.01)
            app.changed_at = float("inf")
            t0 = send_key(app, "n")
            await wait(pilot, lambda: app.changed_at < float("inf"))
            t1 = await painted_after(pilot, clock, app.changed_at)
            times.append(t1 - t0)
    return times


async def bench_cleanup(ws_root: Path, moves: int) -> dict[str, list[float]]:
    from garbtui.tui import GarbApp
    from garbtui.tui.screens.cleanup import CleanupScreen

    app = GarbApp(ws_root, remember_theme=False)
    out: dict[str, list[float]] = {"toggle": [], "feather": [], "toggle_engine": [], "feather_engine": []}
    async with app.run_test(size=SIZE) as pilot:
        clock = PaintClock(app)
        await pilot.press("enter")
        await wait(pilot, lambda: isinstance(app.screen, CleanupScreen))
        screen = app.screen
        cutout = screen.query_one("#cl-cutout")
        await pilot.press("c")
        await wait(pilot, lambda: screen.result is not None and screen.shown_generation == screen.generation)
        for name, key in (("toggle", "1"), ("feather", "f")):
            for _ in range(moves):
                await pilot.pause(0.01)
                generation = screen.generation
                t0 = send_key(app, key)
                await wait(pilot, lambda generation=generation: screen.generation > generation)
                await wait(pilot, lambda: screen.shown_generation == screen.generation)
                t1 = await painted_after(pilot, clock, cutout.shown_at)
                out[name].append(t1 - t0)
                out[f"{name}_engine"].append(float(screen.result.timings.get("total", 0.0)))
    return out


async def bench_startup(ws_root: Path) -> tuple[float, float, float]:
    """Seconds from constructing the app to its first paint; and for a bare Textual app."""
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    from garbtui.tui import GarbApp

    class Bare(App):
        def compose(self) -> ComposeResult:
            yield Static("hello")

    bare_runs = []
    for _ in range(3):  # the first run also pays for one-time imports and caches: keep the best
        t0 = time.perf_counter()
        bare = Bare()
        async with bare.run_test(size=SIZE) as pilot:
            clock = PaintClock(bare)
            await painted_after(pilot, clock, 0.0)
            bare_runs.append(clock.last - t0)
    bare_s = min(bare_runs)
    t0 = time.perf_counter()
    app = GarbApp(ws_root, remember_theme=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait(pilot, lambda: getattr(screen, "first_paint_at", None) is not None)
        first = screen.first_paint_at - t0
        await wait(pilot, lambda: screen.metas_done, timeout=120)
        all_metas = time.perf_counter() - t0
    return first, bare_s, all_metas


def ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:6.1f} ms   p90 {sorted(values)[int(len(values) * 0.9)] * 1000:6.1f} ms"


# -- per protocol, through a pty -------------------------------------------------------------------
BASELINE_APP = r"""
import sys, time
from pathlib import Path
from textual_image import _terminal
_terminal.probe_terminal._result = _terminal.TerminalCapabilities(_terminal.CellSize(10, 20), sixel=True, tgp=True)
from PIL import Image
from textual.app import App
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Static
from textual_image.widget import HalfcellImage, SixelImage, TGPImage
kind = {"kitty": TGPImage, "sixel": SixelImage, "halfcell": HalfcellImage}[sys.argv[1]]
paths = sorted(Path(sys.argv[2]).glob("*/raw.png"))
class Baseline(App):
    BINDINGS = [Binding("j", "next"), Binding("q", "quit")]
    CSS = "#list { width: 3fr; } #img { width: 2fr; height: 1fr; }"
    i = 0
    def compose(self):
        with Horizontal():
            yield Static("crops", id="list")
            yield kind(Image.open(paths[0]), id="img")
    def action_next(self):
        self.i += 1
        self.query_one("#img").image = Image.open(paths[self.i % len(paths)])
Baseline().run()
"""


def _picture_end(protocol: str, data: bytes) -> int | None:
    """Offset just past the last byte of the last picture in `data` (None: no picture)."""
    import re as _re

    if protocol == "sixel":
        starts = [m.start() for m in _re.finditer(rb"\x1bP[0-9;]*q", data)]
        if not starts:
            return None
        end = data.find(b"\x1b\\", starts[-1])
        return None if end < 0 else end + 2
    if protocol == "kitty":
        ends = [data.rfind(b"\x1b_G"), data.rfind("\U0010eeee".encode())]
        last = max(ends)
        return None if last < 0 else last + 4
    last = data.rfind("▀".encode())
    return None if last < 0 else last + 3


def _count_pictures(protocol: str, data: bytes) -> int:
    import re as _re

    if protocol == "sixel":
        return len(_re.findall(rb"\x1bP[0-9;]*q", data))
    if protocol == "kitty":
        return data.count(b"U=1")  # one virtual placement per picture (garbtui and textual-image alike)
    return 1 if "▀".encode() in data else 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far: the work done, whatever the load."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def pty_moves(term, protocol: str, moves: int, key: bytes = b"j") -> tuple[list[float], list[int], list[int]]:  # noqa: ANN001
    """Keypress-to-final-picture seconds, bytes written and pictures drawn, per move (and CPU seconds
    of the app per move in term.cpu: includes preparing the neighbours' pictures ahead)."""
    times, sizes, counts = [], [], []
    term.cpu = []
    term.settle(1.0)
    for _ in range(moves):
        cpu0 = cpu_seconds(term.proc.pid)
        with term._lock:
            start = len(term.out)
            first_chunk = len(term.chunks)
        t0 = time.monotonic()
        term.write(key)
        term.settle(0.35, timeout=20)
        with term._lock:
            data = bytes(term.out[start:])
            chunks = list(term.chunks[first_chunk:])
        end = _picture_end(protocol, data)
        if end is None:
            continue
        pos = 0
        for when, chunk in chunks:
            pos += len(chunk)
            if pos >= end:
                times.append(when - t0)
                break
        sizes.append(len(data))
        counts.append(_count_pictures(protocol, data))
        term.cpu.append(cpu_seconds(term.proc.pid) - cpu0)
    return times, sizes, counts


def bench_pty(ws_root: Path, moves: int) -> dict[str, dict[str, float]]:
    sys.path.insert(0, str(REPO))
    from tests.tui.test_terminal_pty import KITTY_NEW, XTERM_SIXEL, FakeTerminal

    config = tempfile.mkdtemp(prefix="garbtui-bench-config-")
    profiles = {"kitty": KITTY_NEW, "sixel": XTERM_SIXEL, "halfcell": KITTY_NEW}
    results: dict[str, dict[str, float]] = {}
    for protocol, profile in profiles.items():
        env = {"GARBTUI_CONFIG_DIR": config, "COLORTERM": "truecolor"}
        if protocol == "halfcell":
            env["GARBTUI_IMAGE_PROTOCOL"] = "halfcell"
        runs = {}
        for name, args in (("garbtui", ["open", str(ws_root)]), ("baseline", None)):
            if args is None:
                script = Path(config) / "baseline_app.py"
                script.write_text(BASELINE_APP)
                term = FakeTerminal([], profile, env=env,
                                    argv=[sys.executable, str(script), protocol, str(ws_root / "crops")])
            else:
                term = FakeTerminal(args, profile, env=env)
            try:
                term.wait_for(lambda t=term: len(t.output()) > 2000, timeout=60)
                times, sizes, counts = pty_moves(term, protocol, moves)
            finally:
                term.write(b"q")
                time.sleep(0.3)
                term.close()
            runs[name] = {"median_ms": statistics.median(times) * 1000 if times else float("nan"),
                          "p90_ms": sorted(times)[int(len(times) * 0.9)] * 1000 if times else float("nan"),
                          "bytes": statistics.median(sizes) if sizes else 0,
                          "cpu_ms": statistics.median(term.cpu) * 1000 if term.cpu else float("nan"),
                          "pictures_per_move": statistics.median(counts) if counts else 0}
        runs["ratio"] = runs["garbtui"]["median_ms"] / runs["baseline"]["median_ms"]
        results[protocol] = runs
    return results


def print_pty(results: dict[str, dict[str, float]]) -> None:
    print("keypress -> final picture through a pty, 200x60 cells of 10x20 px, queue screen, 512x512 crops")
    for protocol, runs in results.items():
        g, b = runs["garbtui"], runs["baseline"]
        print(f"  {protocol:8s} garbtui   median {g['median_ms']:6.1f} ms  p90 {g['p90_ms']:6.1f} ms  "
              f"CPU {g['cpu_ms']:5.0f} ms/move  {g['bytes'] / 1000:5.0f} kB/move  {g['pictures_per_move']:.0f} picture/move")
        print(f"  {'':8s} textual-image median {b['median_ms']:6.1f} ms  p90 {b['p90_ms']:6.1f} ms  "
              f"CPU {b['cpu_ms']:5.0f} ms/move  {b['bytes'] / 1000:5.0f} kB/move  {b['pictures_per_move']:.0f} picture/move"
              f"   garbtui/textual-image {runs['ratio']:.2f}x")
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


# -- in a real terminal (Xvfb): a timing proxy between the terminal and the app ----------------------
SENTINEL = b"\x1b[5n"  # device status report: every terminal answers CSI 0 n, in order, after what came before
SENTINEL_REPLY = b"\x1b[0n"


def proxy(log_path: Path, moves: int, gap: float, argv: list[str]) -> int:
    """Run `argv` on a pty inside this terminal; forward both ways; press `j` `moves` times; after each
    chunk of output with picture bytes, ask the terminal for a status report: its answer comes once the
    terminal has processed that chunk. Log (key time, picture chunks, terminal done times) as JSON."""
    import fcntl
    import pty
    import select
    import termios
    import tty

    fd_term = sys.stdin.fileno()
    size = fcntl.ioctl(fd_term, termios.TIOCGWINSZ, b"\0" * 8)
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, size)
    saved = termios.tcgetattr(fd_term)
    tty.setraw(fd_term)

    def child() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    import subprocess

    proc = subprocess.Popen(argv, stdin=follower, stdout=follower, stderr=follower, preexec_fn=child,
                            env=ORIGINAL_ENV)
    os.close(follower)
    events: list[dict] = []
    pending_sentinels: list[float] = []
    key_times: list[float] = []
    inbuf = b""
    in_string = False  # inside a DCS/APC/OSC (Sixel, Kitty graphics): no sentinel may go in there
    want_sentinel = False
    started = time.monotonic()
    next_key = started + 12.0  # start-up, probe, first pictures
    try:
        while proc.poll() is None:
            now = time.monotonic()
            if len(key_times) < moves and now >= next_key:
                os.write(leader, b"j")
                key_times.append(now)
                next_key = now + gap
            elif len(key_times) >= moves and now >= next_key + 1.5:
                os.write(leader, b"q")
                next_key = float("inf")
            ready, _, _ = select.select([leader, fd_term], [], [], 0.01)
            if leader in ready:
                try:
                    data = os.read(leader, 1 << 16)
                except OSError:
                    break
                if not data:
                    break
                os.write(sys.stdout.fileno(), data)
                picture = (b"\x1bP" in data and b"q" in data) or b"\x1b_G" in data or "\U0010eeee".encode() in data \
                    or "▀".encode() in data
                t = time.monotonic()
                for m in re.finditer(rb"\x1b([P_\]^X\\])|\x07", data):
                    in_string = m.group(1) not in (b"\\", None)  # ST or BEL ends a string
                last_esc = data.rfind(b"\x1b")
                open_csi = last_esc >= 0 and re.fullmatch(rb"\x1b\[[\x30-\x3f]*[\x20-\x2f]*", data[last_esc:]) is not None
                want_sentinel = want_sentinel or picture
                if want_sentinel and not in_string and not open_csi and not data.endswith(b"\x1b"):
                    os.write(sys.stdout.fileno(), SENTINEL)
                    pending_sentinels.append(t)
                    want_sentinel = False
                events.append({"t": t - started, "bytes": len(data), "picture": picture})
            if fd_term in ready:
                data = os.read(fd_term, 4096)
                inbuf += data
                while SENTINEL_REPLY in inbuf:
                    k = inbuf.index(SENTINEL_REPLY)
                    before, inbuf = inbuf[:k], inbuf[k + len(SENTINEL_REPLY):]
                    if before:
                        os.write(leader, before)
                    sent = pending_sentinels.pop(0) if pending_sentinels else None
                    events.append({"t": time.monotonic() - started, "done": True,
                                   "sent": None if sent is None else sent - started})
                if inbuf and not inbuf.endswith(b"\x1b") and b"\x1b[" not in inbuf[-6:]:
                    os.write(leader, inbuf)
                    inbuf = b""
    finally:
        termios.tcsetattr(fd_term, termios.TCSANOW, saved)
        if proc.poll() is None:
            proc.kill()
        log_path.write_text(json.dumps({"keys": [k - started for k in key_times], "events": events}))
    return 0


def real_latency(log: dict) -> list[float]:
    """Per key: seconds until the terminal had processed the last picture chunk before the next key."""
    keys = log["keys"]
    out = []
    for i, k in enumerate(keys):
        end = keys[i + 1] if i + 1 < len(keys) else float("inf")
        done = [e["t"] for e in log["events"] if e.get("done") and e.get("sent") is not None and k <= e["sent"] < end]
        if done:
            out.append(max(done) - k)
    return out


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--proxy":
        # --proxy LOG MOVES GAP -- argv...
        log, moves, gap = Path(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
        return proxy(log, moves, gap, sys.argv[sys.argv.index("--") + 1:])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--crops", type=int, default=5000)
    parser.add_argument("--moves", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--pty", action="store_true", help="per image protocol, through a pseudo-terminal")
    args = parser.parse_args()
    if args.pty:
        with tempfile.TemporaryDirectory(prefix="garbtui-bench-") as tmp:
            ws = make_workspace(Path(tmp) / "pty512", args.moves + 2, 512)
            results = bench_pty(ws.root, args.moves)
        if args.json:
            print(json.dumps(results, indent=2))
        else:
            print_pty(results)
        return 0
    with tempfile.TemporaryDirectory(prefix="garbtui-bench-") as tmp:
        big = make_workspace(Path(tmp) / "big512", args.moves * 2 + 2, 512)
        t = time.perf_counter()
        many = make_workspace(Path(tmp) / "many", args.crops, 64)
        setup = time.perf_counter() - t
        base = asyncio.run(bench_baseline(big.raw_path("crop-00000"), args.moves))
        cold = asyncio.run(bench_queue(big.root, args.moves, prefetch=False))
        queue = asyncio.run(bench_queue(big.root, args.moves, prefetch=True))
        clean = asyncio.run(bench_cleanup(big.root, max(5, args.moves // 3)))
        first, bare, metas = asyncio.run(bench_startup(many.root))
    b = statistics.median(base)
    result = {
        "baseline_halfcell_unshrunk_ms": b * 1000,
        "queue_next_uncached_ms": statistics.median(cold["cold"]) * 1000,
        "queue_next_prefetched_ms": statistics.median(queue["cold"]) * 1000,
        "queue_revisit_ms": statistics.median(queue["warm"]) * 1000,
        "cleanup_toggle_ms": statistics.median(clean["toggle"]) * 1000,
        "cleanup_feather_ms": statistics.median(clean["feather"]) * 1000,
        "cleanup_toggle_engine_ms": statistics.median(clean["toggle_engine"]) * 1000,
        "cleanup_feather_engine_ms": statistics.median(clean["feather_engine"]) * 1000,
        "startup_first_paint_s": first,
        "bare_textual_first_paint_s": bare,
        "all_metas_read_s": metas,
        "crops": args.crops,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"keypress -> repainted preview, 512x512 crops, {SIZE[0]}x{SIZE[1]} cells, half-cell images")
    print(f"  baseline: textual-image half-cell, un-shrunk   {ms(base)}")
    for label, times in (("queue, next crop, nothing cached         ", cold["cold"]),
                         ("queue, next crop (neighbours prefetched) ", queue["cold"]),
                         ("queue, revisit (cached frame)            ", queue["warm"])):
        print(f"  {label}      {ms(times)}   {statistics.median(times) / b:5.2f}x baseline")
    for name, label in (("toggle", "toggle cluster (1)"), ("feather", "feather (f)       ")):
        engine = statistics.median(clean[f"{name}_engine"]) * 1000
        print(f"  cleanup, {label}                   {ms(clean[name])}   "
              f"{statistics.median(clean[name]) / b:5.2f}x baseline   (cleanup engine alone: median {engine:.1f} ms)")
    print(f"start-up to first paint with {args.crops} crops (set-up {setup:.1f} s)")
    print(f"  bare Textual app (one Static)                 {bare * 1000:7.0f} ms")
    print(f"  garbtui open                                  {first * 1000:7.0f} ms   {first / bare:5.2f}x bare app")
    print(f"  every crop meta read (in a worker)            {metas * 1000:7.0f} ms")
    target_ok = statistics.median(cold["cold"]) <= 0.05 and first <= 1.5
    print(f"targets (uncached preview median <= 50 ms, first paint <= 1.5 s): {'met' if target_ok else 'NOT met'}"
          f"   (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
