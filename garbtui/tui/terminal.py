"""Terminal graphics detection: which image protocol to use, the cell size, tmux; never stalls, never crashes.

textual-image probes the terminal when its renderable package is first imported, waiting up to 2 s per
read for an answer. We run our own short probe first (or none at all when the protocol is forced or there
is no TTY) and hand the result to textual-image's cache, so importing it later costs nothing.
"""

from __future__ import annotations

import os
import re
import select
import sys
import time
from dataclasses import dataclass, field

PROTOCOLS: tuple[str, ...] = ("auto", "kitty", "sixel", "halfcell", "unicode")
ENV_PROTOCOL = "GARBTUI_IMAGE_PROTOCOL"
PROBE_TIMEOUT = 0.35  # seconds for the whole probe; a terminal that answers at all answers in milliseconds

_DA_RE = re.compile(r"\x1b\[\?([0-9;]*)c")
_CELL_RE = re.compile(r"\x1b\[6;(\d+);(\d+)t")
_TGP_RE = re.compile(r"\x1b_G(.*?)\x1b\\", re.DOTALL)
_TGP_QUERY = "\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\"


@dataclass(frozen=True)
class TerminalInfo:
    """What we know about the terminal and which image protocol we chose."""

    protocol: str  # kitty | sixel | halfcell | unicode (never auto)
    requested: str  # what the user asked for
    cell_width: int
    cell_height: int
    term: str
    term_program: str
    tmux: bool
    tty: bool
    probed: bool  # True when the terminal answered our query
    sixel: bool = False
    kitty: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def is_graphics(self) -> bool:
        return self.protocol in ("kitty", "sixel")


_INFO: TerminalInfo | None = None


def requested_protocol(value: str | None = None) -> str:
    """The protocol asked for: the argument, else $GARBTUI_IMAGE_PROTOCOL, else auto."""
    raw = (value or os.environ.get(ENV_PROTOCOL, "") or "auto").strip().lower()
    aliases = {"tgp": "kitty", "half": "halfcell", "halfblock": "halfcell", "text": "unicode"}
    raw = aliases.get(raw, raw)
    return raw if raw in PROTOCOLS else "auto"


def _is_tty() -> bool:
    try:
        return bool(sys.__stdout__ and sys.__stdout__.isatty() and sys.__stdin__ and sys.__stdin__.isatty())
    except (ValueError, OSError):  # closed streams
        return False


def _winsize_cell() -> tuple[int, int]:
    """Cell size in pixels from the TIOCGWINSZ ioctl (0, 0 when the terminal does not say)."""
    try:
        import fcntl
        import struct
        import termios

        buf = fcntl.ioctl(sys.__stdout__.fileno(), termios.TIOCGWINSZ, b"\0" * 8)  # type: ignore[union-attr]  # None only without a console: caught below
        rows, cols, xpix, ypix = struct.unpack("HHHH", buf)
        if rows and cols and xpix and ypix:
            return xpix // cols, ypix // rows
    except Exception:  # any odd terminal: fall back to a query or defaults
        pass
    return 0, 0


def _tmux_wrap(seq: str, tmux: bool) -> str:
    return "\x1bPtmux;" + seq.replace("\x1b", "\x1b\x1b") + "\x1b\\" if tmux else seq


def _probe(tmux: bool, want_cell: bool, timeout: float) -> str:
    """Send one batched query (kitty graphics, cell size, primary DA) and collect the replies."""
    import termios
    import tty

    fd_in = sys.__stdin__.fileno()  # type: ignore[union-attr]  # sys.__stdout__/__stdin__ are None only without a console; the caller catches the error
    out = sys.__stdout__
    saved = termios.tcgetattr(fd_in)
    reply = ""
    try:
        tty.setcbreak(fd_in, termios.TCSANOW)
        query = _tmux_wrap(_TGP_QUERY, tmux) + ("\x1b[16t" if want_cell else "") + "\x1b[c"
        out.write(query)  # type: ignore[union-attr]  # see fd_in
        out.flush()  # type: ignore[union-attr]  # see fd_in
        deadline = time.monotonic() + timeout
        while not _DA_RE.search(reply):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([fd_in], [], [], left)
            if not ready:
                break
            chunk = os.read(fd_in, 1024)
            if not chunk:
                break
            reply += chunk.decode("latin-1")
    finally:
        termios.tcsetattr(fd_in, termios.TCSANOW, saved)
    return reply


def detect(requested: str | None = None, *, probe: bool = True, timeout: float = PROBE_TIMEOUT) -> TerminalInfo:
    """Work out the protocol and cell size. Probes the terminal at most once per process."""
    global _INFO
    want = requested_protocol(requested)
    if _INFO is not None and (
        _INFO.probed or not _INFO.tty or want in ("halfcell", "unicode") or _INFO.requested not in ("halfcell", "unicode")
    ):
        return _choose(_INFO, want)
    term = os.environ.get("TERM", "")
    term_program = os.environ.get("TERM_PROGRAM", "")
    tmux = bool(os.environ.get("TMUX"))
    tty = _is_tty()
    notes: list[str] = []
    cw, ch = _winsize_cell() if tty else (0, 0)
    sixel = kitty = probed = False
    # Only ask the terminal when the answer could change the choice; a forced text protocol needs nothing.
    if tty and probe and want in ("auto", "kitty", "sixel") and term != "dumb":
        try:
            reply = _probe(tmux, want_cell=not (cw and ch), timeout=timeout)
        except Exception as exc:  # termios on a pipe, closed stdin...: fall back quietly
            reply = ""
            notes.append(f"terminal probe failed: {exc.__class__.__name__}")
        da = _DA_RE.search(reply)
        if da:
            probed = True
            sixel = "4" in da.group(1).split(";")
        elif tty:
            notes.append("terminal did not answer the graphics query in time")
        for match in _TGP_RE.finditer(reply):
            if match.group(1).rstrip().endswith(";OK"):
                kitty = True
        cell = _CELL_RE.search(reply)
        if cell and not (cw and ch):
            ch, cw = int(cell.group(1)), int(cell.group(2))
    if not (cw and ch):
        env_w, env_h = os.environ.get("TEXTUAL_CELL_WIDTH", ""), os.environ.get("TEXTUAL_CELL_HEIGHT", "")
        cw, ch = (int(env_w), int(env_h)) if env_w.isdigit() and env_h.isdigit() else (10, 20)
    if not tty:
        notes.append("not a terminal (stdin/stdout redirected): images drawn as half-cells")
    base = TerminalInfo("halfcell", want, cw, ch, term, term_program, tmux, tty, probed, sixel, kitty, notes)
    _INFO = base
    _prime_textual_image(base)
    return _choose(base, want)


def _choose(info: TerminalInfo, want: str) -> TerminalInfo:
    if want == "auto":
        if info.kitty and ("kitty" in info.term or info.term_program.lower() in ("kitty", "ghostty")):
            protocol = "kitty"
        elif info.sixel:
            protocol = "sixel"
        elif info.kitty:
            protocol = "kitty"
        else:
            protocol = "halfcell"
    else:
        protocol = want
    return TerminalInfo(
        protocol, want, info.cell_width, info.cell_height, info.term, info.term_program, info.tmux, info.tty,
        info.probed, info.sixel, info.kitty, list(info.notes),
    )


def _prime_textual_image(info: TerminalInfo) -> None:
    """Fill textual-image's probe cache so importing it never queries the terminal itself."""
    try:
        from textual_image import _terminal

        if not hasattr(_terminal.probe_terminal, "_result"):
            caps = _terminal.TerminalCapabilities(
                _terminal.CellSize(info.cell_width, info.cell_height), sixel=info.sixel, tgp=info.kitty
            )
            _terminal.probe_terminal._result = caps  # type: ignore[attr-defined]  # textual-image's private cache
    except Exception:  # a future textual-image without this cache: it will probe itself, still bounded
        pass


def tmux_advice(info: TerminalInfo) -> list[str]:
    """What to put in ~/.tmux.conf for inline images to work well."""
    if not info.tmux:
        return []
    return [
        "inside tmux, add to ~/.tmux.conf (then `tmux kill-server` or reattach):",
        "  set -g allow-passthrough on            # tmux >= 3.3: lets Kitty graphics / Sixel reach your terminal",
        "  set -as terminal-features ',*:RGB'     # true-colour half-cells (older tmux: terminal-overrides ',*:Tc')",
        "sixel inside tmux needs tmux >= 3.4 built with sixel; otherwise images fall back to half-cells",
    ]
