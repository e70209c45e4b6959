"""Ask the terminal what it can do, on /dev/tty, with a bounded wait; parse the answers.

One batch of queries, primary DA last (every terminal answers it, in order, so its answer ends the wait):

    ESC _ G i=31,s=1,v=1,a=q,t=d,f=24;AAAA ESC \\   Kitty graphics (wrapped for tmux passthrough)
    CSI > 0 q                                       XTVERSION: name and version (kitty(0.41.1), XTerm(379))
    CSI 16 t                                        cell size in pixels (only when the ioctl has none)
    CSI 38;2;1;2;3 m  DCS $ q m ST  CSI m           does the terminal keep a 24-bit colour (DECRQSS)?
    CSI c                                           primary DA (4 = Sixel)

A Sixel terminal is then asked for its limits (XTSMGRAPHICS: graphics geometry and colour registers),
again ended by a primary DA. Inside tmux, tmux answers DA itself before the outer terminal's Kitty
answer comes back through passthrough, so that answer is waited for up to the deadline.

The probe reads /dev/tty, so `garbtui doctor --json | jq` probes the terminal too. While the app starts,
the terminal is left without echo after the probe (`hold=True`) until Textual's driver owns it, so an
answer that comes after the deadline is neither echoed nor typed: the driver's filter drops it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import select
import subprocess
import time
from dataclasses import dataclass, field

from garbtui.tui.term.replies import Reply, ReplyFilter

KITTY_QUERY = "\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\"
XTVERSION_QUERY = "\x1b[>0q"
CELL_QUERY = "\x1b[16t"
SGR_QUERY = "\x1b[38;2;1;2;3m\x1bP$qm\x1b\\\x1b[m"
SIXEL_QUERY = "\x1b[?2;1;0S\x1b[?2;4;0S\x1b[?1;1;0S"  # geometry now, geometry at most, colour registers
DA1_QUERY = "\x1b[c"

_DA1_RE = re.compile(r"\x1b\[\?([0-9;]*)c")
_CELL_RE = re.compile(r"\x1b\[6;(\d+);(\d+)t")
_KITTY_RE = re.compile(r"\x1b_G([^\x1b]*)\x1b\\")
_XTVERSION_RE = re.compile(r"\x1bP>\|([^\x1b]*)\x1b\\")
_XTSM_RE = re.compile(r"\x1b\[\?(\d+);(\d+);([0-9;]*)S")
_DECRQSS_RE = re.compile(r"\x1bP([01])\$r([^\x1b]*)\x1b\\")


@dataclass
class Answers:
    """What the terminal said (None: it did not say)."""

    da1: tuple[str, ...] | None = None
    kitty: bool | None = None  # answered the graphics query: OK (True) or an error (False)
    kitty_error: str = ""
    version: str = ""  # XTVERSION text, e.g. "kitty(0.41.1)", "XTerm(379)", "tmux 3.3a"
    cell: tuple[int, int] | None = None  # (width, height) px
    sixel_geometry: tuple[int, int] | None = None  # XTSMGRAPHICS graphics geometry, largest answered (w, h)
    colour_registers: int | None = None
    sgr_rgb: bool | None = None  # DECRQSS showed the 24-bit colour kept as such
    seconds: float = 0.0
    sent: str = ""
    raw: list[Reply] = field(default_factory=list)
    error: str = ""

    @property
    def answered(self) -> bool:
        return self.da1 is not None

    @property
    def sixel(self) -> bool:
        return self.da1 is not None and "4" in self.da1


def parse(replies: list[Reply], answers: Answers | None = None) -> Answers:
    """Fill `answers` from the replies the filter took out of the input."""
    a = answers or Answers()
    for reply in replies:
        text = reply.text
        if reply.kind == "da1" and (m := _DA1_RE.fullmatch(text)):
            a.da1 = tuple(p for p in m.group(1).split(";") if p)
        elif reply.kind == "kitty" and (m := _KITTY_RE.fullmatch(text)):
            status = m.group(1).rsplit(";", 1)[-1] if ";" in m.group(1) else ""
            if status == "OK":
                a.kitty = True
            elif a.kitty is not True:
                a.kitty, a.kitty_error = False, status
        elif reply.kind == "xtversion" and (m := _XTVERSION_RE.fullmatch(text)):
            a.version = m.group(1).strip()
        elif reply.kind == "cellsize" and (m := _CELL_RE.fullmatch(text)):
            h, w = int(m.group(1)), int(m.group(2))
            if w > 0 and h > 0:
                a.cell = (w, h)
        elif reply.kind == "xtsmgraphics" and (m := _XTSM_RE.fullmatch(text)):
            item, status, value = int(m.group(1)), int(m.group(2)), m.group(3)
            numbers = [int(v) for v in value.split(";") if v.isdigit()]
            if status != 0 or not numbers:
                continue
            if item == 2 and len(numbers) >= 2:
                # Current and maximum geometry answer alike: keep the larger (the window may grow).
                old = a.sixel_geometry or (0, 0)
                a.sixel_geometry = (max(old[0], numbers[0]), max(old[1], numbers[1]))
            elif item == 1:
                a.colour_registers = numbers[0]
        elif (reply.kind == "decrqss" and (m := _DECRQSS_RE.fullmatch(text))
              and m.group(1) == "1" and m.group(2).endswith("m")):
            a.sgr_rgb = bool(re.search(r"38[:;]2[:;]+1[:;]2[:;]3(?![0-9])", m.group(2)))
    return a


# -- the terminal device ------------------------------------------------------------------------
_HELD: tuple[int, list, bool] | None = None  # (fd, attrs before the probe, fd ours) while echo is kept off


def held_attrs() -> list | None:
    """The terminal settings from before the probe, while the probe keeps echo off (for the driver)."""
    return None if _HELD is None else _HELD[1]


def release() -> None:
    """Give the terminal its settings back (after Textual took over, or at exit)."""
    global _HELD
    if _HELD is None:
        return
    fd, attrs, owned = _HELD
    _HELD = None
    try:
        import termios

        termios.tcsetattr(fd, termios.TCSANOW, attrs)
    except Exception:  # closed terminal at exit: nothing to restore
        pass
    if owned:
        with contextlib.suppress(OSError):
            os.close(fd)


def handed_over() -> None:
    """Textual's driver owns the terminal now (and restores the settings at exit): stop holding it."""
    global _HELD
    if _HELD is None:
        return
    fd, _attrs, owned = _HELD
    _HELD = None
    if owned:
        with contextlib.suppress(OSError):
            os.close(fd)


atexit.register(release)


def open_tty() -> tuple[int, bool] | None:
    """(fd, owned) for the controlling terminal: /dev/tty, else stdin when it is a terminal."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
        if os.isatty(fd):
            return fd, True
        os.close(fd)
    except OSError:
        pass
    try:
        import sys

        if sys.__stdin__ is not None and sys.__stdin__.isatty() and sys.__stdout__ is not None and sys.__stdout__.isatty():
            return sys.__stdin__.fileno(), False
    except (ValueError, OSError):
        pass
    return None


def winsize_cell(fd: int) -> tuple[int, int, int, int]:
    """(cols, rows, cell width, cell height) from TIOCGWINSZ; cell size 0 when the terminal gives none."""
    try:
        import fcntl
        import struct
        import termios

        rows, cols, xpix, ypix = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
        if rows and cols and xpix and ypix:
            return cols, rows, xpix // cols, ypix // rows
        return cols, rows, 0, 0
    except Exception:
        return 0, 0, 0, 0


def tmux_wrap(seq: str) -> str:
    """A sequence wrapped for tmux passthrough (ESC doubled inside)."""
    return "\x1bPtmux;" + seq.replace("\x1b", "\x1b\x1b") + "\x1b\\"


@dataclass
class TmuxInfo:
    """The tmux around us, from `tmux display-message` (empty strings when it cannot say)."""

    version: str = ""
    passthrough: bool | None = None
    client_term: str = ""  # TERM of the terminal tmux is attached to
    client_type: str = ""  # that terminal's XTVERSION, e.g. "kitty(0.41.1)" (tmux >= 3.3)
    features: tuple[str, ...] = ()  # tmux's terminal-features for it, e.g. ("256", "RGB", ...)


def tmux_info(timeout: float = 1.0) -> TmuxInfo:
    fmt = "#{version}\t#{allow-passthrough}\t#{client_termname}\t#{client_termtype}\t#{client_termfeatures}"
    try:
        out = subprocess.run(["tmux", "display-message", "-p", fmt], capture_output=True, text=True,
                             timeout=timeout, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return TmuxInfo()
    parts = (out.rstrip("\n").split("\t") + [""] * 5)[:5]
    passthrough = {"1": True, "on": True, "all": True, "0": False, "off": False}.get(parts[1].strip())
    features = tuple(f for f in parts[4].split(",") if f)
    return TmuxInfo(parts[0].strip(), passthrough, parts[2].strip(), parts[3].strip(), features)


# Terminals known to have no Kitty graphics: inside tmux their answer would never come, so the probe
# neither asks them nor waits for them (tmux answers primary DA itself, before the outer terminal).
_NO_KITTY_GRAPHICS = ("xterm", "foot", "mlterm", "alacritty", "st", "urxvt", "rxvt", "linux", "vte", "gnome",
                      "iterm2", "mintty", "tmux", "screen")


def kitty_worth_asking(tmux: TmuxInfo) -> bool:
    """Inside tmux: passthrough is on and the outer terminal is not one known to lack Kitty graphics."""
    if not tmux.passthrough:
        return False
    outer = tmux.client_type.lower()  # its XTVERSION; TERM names (xterm-256color) say too little
    return not outer or "kitty" in outer or not any(outer.startswith(name) for name in _NO_KITTY_GRAPHICS)


def _read_until(fd: int, filt: ReplyFilter, done, deadline: float) -> str:  # noqa: ANN001
    """Read answers into `filt` until done() or the deadline; returns what was not an answer (typed keys)."""
    typed: list[str] = []
    while not done():
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        typed.append(filt.feed(chunk.decode("utf-8", "replace"), time.monotonic()))
    return "".join(typed)


def query(
    *,
    timeout: float,
    tmux: TmuxInfo | None = None,
    want_cell: bool = True,
    want_colour: bool = True,
    hold: bool = False,
    drain: float = 0.0,
) -> Answers:
    """Send the queries and collect the answers (at most `timeout` seconds, plus one Sixel round).

    hold: leave echo off afterwards (the app: Textual's driver takes over and `release()`s);
    drain: keep reading for up to this long after the answers, until the terminal is quiet, then
    discard pending input (doctor: nothing may reach the shell).
    """
    global _HELD
    import termios
    import tty

    a = Answers()
    opened = open_tty()
    if opened is None:
        a.error = "no terminal (/dev/tty cannot be opened)"
        return a
    fd, owned = opened
    replies: list[Reply] = []
    filt = ReplyFilter(replies.append, reply_hold=timeout)
    started = time.monotonic()
    try:
        saved = termios.tcgetattr(fd)
    except termios.error as exc:
        if owned:
            os.close(fd)
        a.error = f"terminal settings unreadable: {exc}"
        return a
    try:
        tty.setcbreak(fd, termios.TCSANOW)
        in_tmux = tmux is not None
        kitty_sent = not in_tmux or bool(tmux and kitty_worth_asking(tmux))
        batch = ""
        if kitty_sent:
            batch += tmux_wrap(KITTY_QUERY) if in_tmux else KITTY_QUERY
        batch += XTVERSION_QUERY
        if want_cell:
            batch += CELL_QUERY
        if want_colour and not in_tmux:
            batch += SGR_QUERY
        batch += DA1_QUERY
        a.sent = batch
        os.write(fd, batch.encode())
        deadline = started + timeout

        def first_done() -> bool:
            parse(replies, a)
            if a.da1 is None:
                return False
            # Inside tmux the outer terminal's Kitty answer comes after tmux's own DA: wait for it.
            return not (in_tmux and kitty_sent and a.kitty is None)

        _read_until(fd, filt, first_done, deadline)
        parse(replies, a)
        if a.sixel and not in_tmux:
            os.write(fd, (SIXEL_QUERY + DA1_QUERY).encode())
            a.sent += SIXEL_QUERY + DA1_QUERY
            count = sum(1 for r in replies if r.kind == "da1")
            _read_until(fd, filt, lambda: sum(1 for r in replies if r.kind == "da1") > count,
                        time.monotonic() + timeout)
            parse(replies, a)
        a.seconds = time.monotonic() - started  # until the last needed answer (the drain below is extra)
        if drain > 0:
            quiet_until = time.monotonic() + min(0.2, drain)
            end = time.monotonic() + drain
            while time.monotonic() < min(end, quiet_until):
                before = len(replies)
                _read_until(fd, filt, lambda: False, min(end, quiet_until))
                if len(replies) > before:
                    quiet_until = time.monotonic() + 0.2
            parse(replies, a)
            termios.tcflush(fd, termios.TCIFLUSH)
    except OSError as exc:
        a.error = f"terminal probe failed: {exc.__class__.__name__}"
    finally:
        if not a.seconds:
            a.seconds = time.monotonic() - started
        a.raw = replies
        kept = hold and _HELD is None
        if kept:
            _HELD = (fd, saved, owned)  # restored by the driver once it owns the terminal, or at exit
        else:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(fd, termios.TCSANOW, saved)
        if owned and not kept:
            os.close(fd)
    return a
