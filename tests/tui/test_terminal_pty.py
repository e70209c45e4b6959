"""The real app on a pseudo-terminal, with a scripted terminal on the other side (no display needed).

`FakeTerminal` spawns `python -m garbtui ...` on a pty of 200x60 cells (10x20 px each), reads what the
app writes into a small screen model, and answers the app's queries the way a given terminal does
(the answers below were recorded from xterm 379 and kitty 0.26.5 under Xvfb), optionally late.
The other test_terminal_*.py files use it too.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import pty
import re
import shutil
import struct
import subprocess
import sys
import termios
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
COLS, ROWS, CELL_W, CELL_H = 200, 60, 10, 20

# What real terminals answer (recorded with `xterm -ti vt340`, `xterm`, kitty 0.26.5; see NOTES).
XTERM_DA1_SIXEL = b"\x1b[?63;1;2;4;6;9;15;16;22;28c"
XTERM_DA1 = b"\x1b[?64;1;2;6;9;15;16;17;18;21;22;28c"
KITTY_DA1 = b"\x1b[?62;c"


@dataclass
class Profile:
    """How a terminal answers each query (None: it stays silent)."""

    name: str
    da1: bytes | None = None
    xtversion: bytes | None = None
    kitty: bytes | None = None
    sgr: bytes | None = None  # DECRQSS answer for the 24-bit SGR test
    sixel_now: bytes | None = None
    sixel_max: bytes | None = None
    registers: bytes | None = None
    cell: bytes | None = None
    sync: bytes | None = b"\x1b[?2026;2$y"  # DECRPM for synchronized output (Textual asks)
    env: dict[str, str] = field(default_factory=dict)


XTERM_SIXEL = Profile(
    "xterm -ti vt340", da1=XTERM_DA1_SIXEL, xtversion=b"\x1bP>|XTerm(379)\x1b\\",
    sgr=b"\x1bP1$r0;38:2::1:2:3m\x1b\\", sixel_now=b"\x1b[?2;0;1000;1000S", sixel_max=b"\x1b[?2;0;1000;1000S",
    registers=b"\x1b[?1;0;1024S", sync=None, env={"TERM": "xterm"},
)
XTERM_16 = Profile(  # a terminal with 16 colours: TERM=xterm, no COLORTERM, no 24-bit answer
    "16-colour xterm", da1=XTERM_DA1, xtversion=None, sgr=None, sync=None, env={"TERM": "xterm"},
)
KITTY_OLD = Profile(
    "kitty 0.26.5", da1=KITTY_DA1, xtversion=b"\x1bP>|kitty(0.26.5)\x1b\\", kitty=b"\x1b_Gi=31;OK\x1b\\",
    sgr=b"\x1bP1$r38:2:1:2:3m\x1b\\", cell=b"\x1b[6;20;10t",
    env={"TERM": "xterm-kitty", "COLORTERM": "truecolor"},
)
KITTY_NEW = Profile(
    "kitty 0.41.1", da1=KITTY_DA1, xtversion=b"\x1bP>|kitty(0.41.1)\x1b\\", kitty=b"\x1b_Gi=31;OK\x1b\\",
    sgr=b"\x1bP1$r38:2:1:2:3m\x1b\\", cell=b"\x1b[6;20;10t",
    env={"TERM": "xterm-kitty", "COLORTERM": "truecolor"},
)

QUERIES: list[tuple[str, bytes]] = [  # (answer attribute, query bytes) in the order the app may send them
    ("kitty", b"\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\"),
    ("kitty", b"\x1bPtmux;\x1b\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\x1b\\\x1b\\"),  # through tmux passthrough
    ("xtversion", b"\x1b[>0q"),
    ("cell", b"\x1b[16t"),
    ("sgr", b"\x1bP$qm\x1b\\"),
    ("sixel_now", b"\x1b[?2;1;0S"),
    ("sixel_max", b"\x1b[?2;4;0S"),
    ("registers", b"\x1b[?1;1;0S"),
    ("sync", b"\x1b[?2026$p"),
    ("da1", b"\x1b[c"),
]


class Screen:
    """Just enough of a terminal to read what the app shows: cursor moves, text, erase, strings skipped."""

    def __init__(self, cols: int = COLS, rows: int = ROWS) -> None:
        self.cols, self.rows = cols, rows
        self.cells = [[" "] * cols for _ in range(rows)]
        self.x = self.y = 0
        self.saved = (0, 0)
        self._rest = ""

    def feed(self, text: str) -> None:
        data = self._rest + text
        self._rest = ""
        i, n = 0, len(data)
        while i < n:
            ch = data[i]
            if ch == "\x1b":
                if i + 1 >= n:
                    self._rest = data[i:]
                    return
                nxt = data[i + 1]
                if nxt == "[":
                    m = re.compile(r"\x1b\[([\x30-\x3f]*)([\x20-\x2f]*)([\x40-\x7e])").match(data, i)
                    if m is None:
                        self._rest = data[i:]
                        return
                    self._csi(m.group(1), m.group(3))
                    i = m.end()
                    continue
                if nxt in "P_]^X":
                    end = data.find("\x1b\\", i + 2)
                    bel = data.find("\x07", i + 2) if nxt == "]" else -1
                    if bel >= 0 and (end < 0 or bel < end):
                        i = bel + 1
                        continue
                    if end < 0:
                        self._rest = data[i:]
                        return
                    i = end + 2
                    continue
                if nxt == "7":
                    self.saved = (self.x, self.y)
                elif nxt == "8":
                    self.x, self.y = self.saved
                i += 2
                continue
            if ch == "\r":
                self.x = 0
            elif ch == "\n":
                self.y = min(self.rows - 1, self.y + 1)
            elif ch == "\x08":
                self.x = max(0, self.x - 1)
            elif ord(ch) < 32 or unicodedata.combining(ch):
                pass
            else:
                if 0 <= self.y < self.rows and 0 <= self.x < self.cols:
                    self.cells[self.y][self.x] = ch
                self.x += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
            i += 1

    def _csi(self, params: str, final: str) -> None:
        if params.startswith(("?", ">", "<", "=")):
            if final in "hl" and params in ("?1049", "?47"):
                self.clear()
            return
        nums = [int(p) if p.isdigit() else 0 for p in params.split(";")] if params else []
        first = nums[0] if nums else 0
        if final in "Hf":
            self.y = max(0, (nums[0] if nums and nums[0] else 1) - 1)
            self.x = max(0, (nums[1] if len(nums) > 1 and nums[1] else 1) - 1)
        elif final == "C":
            self.x += max(1, first)
        elif final == "D":
            self.x = max(0, self.x - max(1, first))
        elif final == "A":
            self.y = max(0, self.y - max(1, first))
        elif final == "B":
            self.y = min(self.rows - 1, self.y + max(1, first))
        elif final == "G":
            self.x = max(0, first - 1)
        elif final == "J" and first == 2:
            self.clear()
        elif final == "K":
            if 0 <= self.y < self.rows:
                for x in range(self.x, self.cols):
                    self.cells[self.y][x] = " "
        elif final == "X" and 0 <= self.y < self.rows:
            for x in range(self.x, min(self.cols, self.x + max(1, first))):
                self.cells[self.y][x] = " "

    def clear(self) -> None:
        self.cells = [[" "] * self.cols for _ in range(self.rows)]

    def text(self) -> str:
        return "\n".join("".join(row).rstrip() for row in self.cells)


class FakeTerminal:
    """A pty with the app on one side and this scripted terminal on the other."""

    def __init__(self, args: list[str], profile: Profile, *, delay: float = 0.0, env: dict[str, str] | None = None,
                 answer: bool = True, pipe_stdout: bool = False, delays: dict[str, float] | None = None,
                 argv: list[str] | None = None) -> None:
        self.profile = profile
        self.delay = delay
        self.delays = delays or {}  # per answer: seconds after its query
        self.answer = answer
        self.out = bytearray()
        self.chunks: list[tuple[float, bytes]] = []  # (time, bytes) as the app wrote them
        self.screen = Screen()
        self.withheld: list[bytes] = []  # answers kept back (answer=False): send them with release()
        self._lock = threading.Lock()
        self._scan = 0
        self._answered: set[tuple[int, str]] = set()
        self.leader, follower = pty.openpty()
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, COLS * CELL_W, ROWS * CELL_H))
        full_env = {k: v for k, v in os.environ.items()
                    if k not in ("GARBTUI_IMAGE_PROTOCOL", "TMUX", "COLORTERM", "TERM_PROGRAM", "KITTY_WINDOW_ID",
                                 "SSH_CONNECTION", "SSH_TTY", "TEXTUAL_COLOR_SYSTEM")}
        full_env.update({"TERM": "xterm-256color", "TEXTUAL_FPS": "60", "PYTHONUNBUFFERED": "1"})
        full_env.update(profile.env)
        full_env.update(env or {})
        self.started = time.monotonic()

        def child_setup() -> None:  # the pty becomes the child's controlling terminal (/dev/tty)
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(
            argv or [sys.executable, "-m", "garbtui", *args], stdin=follower,
            stdout=subprocess.PIPE if pipe_stdout else follower, stderr=follower,
            cwd=REPO, env=full_env, close_fds=True, preexec_fn=child_setup,
        )
        # Kept open: after the program exits, whatever is still queued here is what a shell would read.
        self.follower = follower
        self._stop = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    # -- the terminal side --------------------------------------------------------------------
    def _read(self) -> None:
        import select

        while not self._stop:
            try:
                ready, _, _ = select.select([self.leader], [], [], 0.05)
            except (OSError, ValueError):
                return
            if not ready:
                continue
            try:
                chunk = os.read(self.leader, 65536)
            except OSError:
                return
            if not chunk:
                return
            now = time.monotonic()
            with self._lock:
                self.out += chunk
                self.chunks.append((now, chunk))
                self.screen.feed(chunk.decode("utf-8", "replace"))
            self._answer_queries()

    def _answer_queries(self) -> None:
        with self._lock:
            base = max(0, self._scan - 64)  # a query may straddle two reads
            data = bytes(self.out[base:])
            self._scan = len(self.out)
        found: list[tuple[int, str]] = []
        for attr, query in QUERIES:
            start = 0
            while (k := data.find(query, start)) >= 0:
                found.append((base + k, attr))
                start = k + 1
        for pos, attr in sorted(found):
            if (pos, attr) in self._answered:
                continue
            self._answered.add((pos, attr))
            reply = getattr(self.profile, attr)
            if reply is None:
                continue
            if not self.answer and attr != "sync":
                self.withheld.append(reply)
                continue
            self._send_later(reply, self.delays.get(attr, self.delay))

    def _send_later(self, data: bytes, delay: float) -> None:
        if delay <= 0:
            self.write(data)
            return
        timer = threading.Timer(delay, self.write, args=(data,))
        timer.daemon = True
        timer.start()

    # -- driving ------------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            os.write(self.leader, data)

    def release(self, pieces: list[bytes] | None = None, gap: float = 0.0) -> None:
        """Send withheld answers now (late), optionally cut into pieces with a gap between them."""
        for reply in pieces if pieces is not None else self.withheld:
            self.write(reply)
            if gap:
                time.sleep(gap)

    def text(self) -> str:
        with self._lock:
            return self.screen.text()

    def output(self) -> bytes:
        with self._lock:
            return bytes(self.out)

    def wait_for(self, predicate, timeout: float = 30.0) -> None:  # noqa: ANN001
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if predicate():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"timed out; screen:\n{self.text()}\n--- last output: {self.output()[-400:]!r}")

    def wait_text(self, needle: str, timeout: float = 30.0) -> None:
        self.wait_for(lambda: needle in self.text(), timeout)

    def settle(self, quiet: float = 0.5, timeout: float = 15.0) -> None:
        """Wait until the app has written nothing for `quiet` seconds."""
        start = time.monotonic()
        end = start + timeout
        while time.monotonic() < end:
            with self._lock:
                last = max(start, self.chunks[-1][0] if self.chunks else self.started)
            if time.monotonic() - last >= quiet:
                return
            time.sleep(0.05)

    def close(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        self._stop = True
        self._reader.join(timeout=2)
        for fd in (self.leader, self.follower):
            with contextlib.suppress(OSError):
                os.close(fd)
        return self.proc.returncode

    def left_for_the_shell(self) -> bytes:
        """Input still queued on the terminal after the program ended (a shell would read it as typed)."""
        import select

        attrs = termios.tcgetattr(self.follower)
        attrs[3] &= ~(termios.ICANON | termios.ECHO)  # a half-typed line is input too
        termios.tcsetattr(self.follower, termios.TCSANOW, attrs)
        os.set_blocking(self.follower, False)
        data = b""
        while select.select([self.follower], [], [], 0.05)[0]:
            try:
                chunk = os.read(self.follower, 4096)
            except (BlockingIOError, OSError):
                break
            if not chunk:
                break
            data += chunk
        return data


def _new_terminal(*args, **kwargs) -> FakeTerminal:  # noqa: ANN002, ANN003
    return FakeTerminal(*args, **kwargs)


def workspace_copy(tmp_path: Path) -> Path:
    from tests.conftest import SAMPLE_WS

    target = tmp_path / "ws"
    shutil.copytree(SAMPLE_WS, target, ignore=shutil.ignore_patterns(".lock"))
    return target


def snapshot(root: Path) -> dict[str, str]:
    """Every file under root with a hash of its bytes (to see that nothing was written)."""
    return {str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".lock"}


def app_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {"GARBTUI_CONFIG_DIR": str(tmp_path / "config")}
    env.update(extra)
    return env


# -- the tests of this file: late answers never become keys ----------------------------------------
LATE_CASES = {
    "da1": XTERM_DA1_SIXEL,
    "xtversion": b"\x1bP>|XTerm(379)\x1b\\",
    "xtsmgraphics": b"\x1b[?2;0;1000;1000S\x1b[?1;0;1024S",
    "kitty": b"\x1b_Gi=31;OK\x1b\\",
    "cellsize": b"\x1b[6;20;10t\x1b[4;1200;2000t",
    "decrqss": b"\x1bP1$r0;38:2::1:2:3m\x1b\\",
}


@pytest.mark.parametrize("kind", sorted(LATE_CASES))
def test_late_answer_changes_nothing_and_q_still_quits(kind: str, tmp_path: Path) -> None:
    ws = workspace_copy(tmp_path)
    before = snapshot(ws)
    # A terminal that answers nothing in time: the probe gives up after 0.35 s, the app starts.
    term = _new_terminal(["open", str(ws)], XTERM_SIXEL, answer=False,
                         env=app_env(tmp_path, GARBTUI_PROBE_TIMEOUT="0.35"))
    try:
        term.wait_text("crops", timeout=60)
        term.wait_text("▀", timeout=60)  # the first preview is on screen (it can take a while under load)
        term.settle(1.0)
        shown = term.text()
        reply = LATE_CASES[kind]
        # Late, and also cut in two across reads (a slow link splits packets anywhere).
        term.release([reply])
        cut = max(2, len(reply) // 2)
        term.release([reply[:cut], reply[cut:]], gap=0.03)
        term.release([reply[:1], reply[1:]], gap=0.03)  # ESC alone first: the Escape key must not fire
        term.settle(0.6)
        assert term.text() == shown, f"the screen changed after a late {kind} answer"
        assert snapshot(ws) == before
        term.write(b"q")
        term.proc.wait(timeout=20)
        assert term.proc.returncode == 0
    finally:
        term.close()
    assert snapshot(ws) == before


def test_escape_key_still_works_after_the_filter(tmp_path: Path) -> None:
    ws = workspace_copy(tmp_path)
    term = _new_terminal(["open", str(ws)], XTERM_SIXEL, env=app_env(tmp_path, GARBTUI_IMAGE_PROTOCOL="halfcell"))
    try:
        term.wait_text("crops", timeout=60)
        term.settle(0.4)
        term.write(b"?")  # help
        term.wait_text("garbtui keys", timeout=10)
        term.write(b"\x1b")  # a lone ESC: the Escape key closes help
        term.wait_for(lambda: "garbtui keys" not in term.text(), timeout=5)
        term.write(b"q")
        term.proc.wait(timeout=20)
        assert term.proc.returncode == 0
    finally:
        term.close()


def test_late_answers_type_nothing_into_a_text_field(tmp_path: Path) -> None:
    """With the command palette's input focused, any answer leaking through would be typed there."""
    ws = workspace_copy(tmp_path)
    term = _new_terminal(["open", str(ws)], XTERM_SIXEL, answer=False,
                         env=app_env(tmp_path, GARBTUI_PROBE_TIMEOUT="0.35"))
    try:
        term.wait_text("crops", timeout=60)
        term.wait_text("▀", timeout=60)
        term.settle(1.0)
        term.write(b"\x10")  # ctrl+p: the command palette, its search field focused
        term.wait_text("Search for commands", timeout=10)
        term.settle(0.5)
        shown = term.text()
        for reply in LATE_CASES.values():
            term.release([reply])
            cut = max(2, len(reply) // 2)
            term.release([reply[:cut], reply[cut:]], gap=0.03)
        term.settle(0.6)
        assert term.text() == shown
        term.write(b"\x1b")
        term.wait_for(lambda: "Search for commands" not in term.text(), timeout=10)
        term.write(b"q")
        term.proc.wait(timeout=20)
        assert term.proc.returncode == 0
    finally:
        term.close()
