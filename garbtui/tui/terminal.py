"""Terminal graphics detection: which image protocol and colour depth to use; never stalls, never types keys.

The work is split under garbtui/tui/term/: `probe` asks the terminal (on /dev/tty, bounded wait),
`caps` decides (Kitty only where Unicode placeholders work; Sixel within its size limit; colour depth),
`replies` and `driver` keep the terminal's answers away from Textual's key parser whenever they arrive.
This module is the one entry point: `detect()` probes at most once per process and hands the result to
textual-image's cache, so importing textual-image never queries the terminal itself (2 s per read).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from garbtui.tui.term import caps
from garbtui.tui.term import probe as term_probe

PROTOCOLS: tuple[str, ...] = ("auto", "kitty", "sixel", "halfcell", "unicode")
ENV_PROTOCOL = "GARBTUI_IMAGE_PROTOCOL"
ENV_TIMEOUT = "GARBTUI_PROBE_TIMEOUT"
PROBE_TIMEOUT = 0.35  # seconds; a local terminal answers in milliseconds (the wait ends at its answer)
PROBE_TIMEOUT_SSH = 1.0  # over ssh the answer takes a round trip (the wait still ends at the answer)
DOCTOR_TIMEOUT = 2.0


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
    probed: bool  # True when the terminal answered our query (primary DA)
    sixel: bool = False
    kitty: bool = False  # answered the Kitty graphics query with OK
    notes: list[str] = field(default_factory=list)
    emulator: str = ""  # e.g. "kitty(0.41.1)", "XTerm(379)"
    placeholders: bool | None = None  # Kitty Unicode placeholders work there (None: unknown)
    sixel_max: tuple[int, int] | None = None  # largest Sixel picture (XTSMGRAPHICS), px
    sixel_colours: int = caps.SIXEL_DEFAULT_REGISTERS
    colours: str = "truecolor"  # truecolor | 256 | 16
    colour_source: str = ""
    reasons: tuple[str, ...] = ()  # why this protocol
    warnings: tuple[str, ...] = ()  # a forced protocol the terminal did not offer
    tmux_version: str = ""
    tmux_passthrough: bool | None = None
    tmux_features: tuple[str, ...] = ()
    probe_seconds: float = 0.0
    timeout: float = PROBE_TIMEOUT

    @property
    def is_graphics(self) -> bool:
        return self.protocol in ("kitty", "sixel")


@dataclass
class _Base:
    info: TerminalInfo
    answers: term_probe.Answers
    tmux: term_probe.TmuxInfo | None
    env: dict[str, str]


_BASE: _Base | None = None


def requested_protocol(value: str | None = None) -> str:
    """The protocol asked for: the argument, else $GARBTUI_IMAGE_PROTOCOL, else auto."""
    raw = (value or os.environ.get(ENV_PROTOCOL, "") or "auto").strip().lower()
    aliases = {"tgp": "kitty", "half": "halfcell", "halfblock": "halfcell", "text": "unicode"}
    raw = aliases.get(raw, raw)
    return raw if raw in PROTOCOLS else "auto"


def probe_timeout(env: dict[str, str] | None = None) -> float:
    """$GARBTUI_PROBE_TIMEOUT, else longer over ssh (an answer takes a round trip), else 0.35 s."""
    env = dict(os.environ) if env is None else env
    raw = env.get(ENV_TIMEOUT, "").strip()
    try:
        if raw:
            return max(0.05, min(10.0, float(raw)))
    except ValueError:
        pass
    return PROBE_TIMEOUT_SSH if (env.get("SSH_CONNECTION") or env.get("SSH_TTY")) else PROBE_TIMEOUT


def _has_dev_tty_or_std() -> bool:
    opened = term_probe.open_tty()
    if opened is None:
        return False
    fd, owned = opened
    if owned:
        os.close(fd)
    return True


def _std_is_tty() -> bool:
    import sys

    try:
        return bool(sys.__stdout__ and sys.__stdout__.isatty() and sys.__stdin__ and sys.__stdin__.isatty())
    except (ValueError, OSError):
        return False


def detect(
    requested: str | None = None,
    *,
    probe: bool = True,
    timeout: float | None = None,
    doctor: bool = False,
) -> TerminalInfo:
    """Work out the protocol, colours and cell size. Probes the terminal at most once per process.

    The app probes only when its own stdin and stdout are the terminal; `doctor=True` probes /dev/tty
    even when stdout is redirected, waits longer and drains every answer before returning.
    """
    global _BASE
    want = requested_protocol(requested)
    needs_probe = want in ("auto", "kitty", "sixel")
    if _BASE is not None and (_BASE.info.probed or not _BASE.info.tty or not needs_probe
                              or _BASE.info.requested in ("auto", "kitty", "sixel")):
        return _finish(_BASE, want)
    env = dict(os.environ)
    term = env.get("TERM", "")
    term_program = env.get("TERM_PROGRAM", "")
    in_tmux = bool(env.get("TMUX"))
    tty = _has_dev_tty_or_std() if doctor else _std_is_tty()
    wait = timeout if timeout is not None else (max(DOCTOR_TIMEOUT, probe_timeout(env)) if doctor else probe_timeout(env))
    notes: list[str] = []
    cw = ch = 0
    if tty:
        opened = term_probe.open_tty()
        if opened is not None:
            fd, owned = opened
            _, _, cw, ch = term_probe.winsize_cell(fd)
            if owned:
                os.close(fd)
    tmux = term_probe.tmux_info() if in_tmux else None
    answers = term_probe.Answers()
    probed = False
    # Only ask the terminal when the answer could change the choice; a forced text protocol needs nothing.
    if tty and probe and needs_probe and term not in ("dumb", "linux"):
        answers = term_probe.query(timeout=wait, tmux=tmux, want_cell=not (cw and ch),
                                   hold=not doctor, drain=0.5 if doctor else 0.0)
        if answers.error:
            notes.append(answers.error)
        probed = answers.answered
        if not probed and not answers.error:
            notes.append(f"the terminal did not answer within {wait:.2f} s "
                         f"(slow link? raise {ENV_TIMEOUT}, e.g. {ENV_TIMEOUT}=1.5)")
        if answers.cell and not (cw and ch):
            cw, ch = answers.cell
    if not (cw and ch):
        env_w, env_h = env.get("TEXTUAL_CELL_WIDTH", ""), env.get("TEXTUAL_CELL_HEIGHT", "")
        cw, ch = (int(env_w), int(env_h)) if env_w.isdigit() and env_h.isdigit() else (10, 20)
    if not tty:
        notes.append("not a terminal (no /dev/tty, or stdin/stdout redirected): images drawn as half-cells")
    depth, source = caps.colour_depth(answers, env, tmux)
    sixel_max = answers.sixel_geometry
    info = TerminalInfo(
        "halfcell", want, cw, ch, term, term_program, in_tmux, tty, probed, answers.sixel, bool(answers.kitty),
        notes, emulator=caps.identify(answers, env, tmux).label, sixel_max=sixel_max,
        sixel_colours=answers.colour_registers or caps.SIXEL_DEFAULT_REGISTERS, colours=depth, colour_source=source,
        tmux_version=tmux.version if tmux else "", tmux_passthrough=tmux.passthrough if tmux else None,
        tmux_features=tmux.features if tmux else (), probe_seconds=answers.seconds, timeout=wait,
    )
    _BASE = _Base(info, answers, tmux, env)
    _prime_textual_image(info)
    return _finish(_BASE, want)


def _finish(base: _Base, want: str) -> TerminalInfo:
    choice = caps.choose(want, base.answers, base.env, base.tmux, base.info.probed)
    return replace(base.info, protocol=choice.protocol, requested=want, reasons=choice.reasons,
                   warnings=choice.warnings, placeholders=choice.placeholders, notes=list(base.info.notes))


def _choose(info: TerminalInfo, want: str) -> TerminalInfo:
    """The same terminal with another protocol request (kept for callers of the old API)."""
    if _BASE is not None:
        return _finish(_BASE, want)
    return replace(info, protocol="halfcell" if want == "auto" else want, requested=want)


def _prime_textual_image(info: TerminalInfo) -> None:
    """Fill textual-image's probe cache so importing it never queries the terminal itself."""
    try:
        from textual_image import _terminal

        if not hasattr(_terminal.probe_terminal, "_result"):
            caps_ = _terminal.TerminalCapabilities(
                _terminal.CellSize(info.cell_width, info.cell_height), sixel=info.sixel, tgp=info.kitty
            )
            _terminal.probe_terminal._result = caps_  # type: ignore[attr-defined]
    except Exception:  # a future textual-image without this cache: it will probe itself, still bounded
        pass


def tmux_advice(info: TerminalInfo) -> list[str]:
    """What to put in ~/.tmux.conf for inline images and colours to work well (only what is missing)."""
    if not info.tmux:
        return []
    lines: list[str] = []
    if info.tmux_passthrough is False:
        lines.append("set -g allow-passthrough on   in ~/.tmux.conf (tmux >= 3.3): lets Kitty graphics reach "
                     "your terminal; then `tmux source ~/.tmux.conf`")
    if info.colours != "truecolor":
        lines.extend(caps.colour_advice(info.colours, info.colour_source, {}, term_probe.TmuxInfo()))
    if not info.sixel:
        lines.append("Sixel inside tmux needs tmux >= 3.4 built with Sixel support (tmux -V); "
                     "otherwise pictures fall back to half-cells")
    return lines


def reset_for_tests() -> None:
    """Forget the cached detection (tests only)."""
    global _BASE
    _BASE = None
