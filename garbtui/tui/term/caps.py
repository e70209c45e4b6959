"""Which image protocol and colour depth to use, from the terminal's answers, with the reasons.

Kitty graphics are drawn with Unicode placeholders (text cells that the terminal replaces with the
picture): the only Kitty method that survives Textual's redraws and tmux. A terminal that answers the
Kitty graphics query is not enough: kitty before 0.28 (Debian 12, Ubuntu 22.04 ship 0.26.5) and WezTerm
answer it but draw placeholders as empty boxes. So Kitty is chosen only for a terminal identified (by
XTVERSION, or tmux's record of it) as one whose placeholders work; otherwise Sixel when offered, else
half-cells.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from garbtui.tui.term.probe import Answers, TmuxInfo

KITTY_PLACEHOLDERS_SINCE = (0, 28, 0)
SIXEL_DEFAULT_REGISTERS = 256


@dataclass(frozen=True)
class Emulator:
    """A terminal named by XTVERSION (or TERM_PROGRAM): lower-case name and version numbers."""

    name: str
    version: tuple[int, ...] = ()
    text: str = ""

    @property
    def label(self) -> str:
        return self.text or self.name


def parse_version(text: str) -> Emulator:
    """`kitty(0.41.1)`, `XTerm(379)`, `WezTerm 20240203-110809-5046fc22`, `ghostty 1.1.3`, `tmux 3.3a`."""
    text = text.strip()
    m = re.match(r"([A-Za-z][A-Za-z0-9_.+-]*?)[\s(]+v?([0-9][0-9.]*)", text)
    if m is None:
        name = re.match(r"[A-Za-z][A-Za-z0-9_-]*", text)
        return Emulator(name.group(0).lower() if name else "", (), text)
    numbers = tuple(int(v) for v in m.group(2).strip(".").split(".") if v.isdigit())
    return Emulator(m.group(1).lower(), numbers, text)


def identify(answers: Answers, env: dict[str, str], tmux: TmuxInfo | None) -> Emulator:
    """The terminal that draws the pictures: the outer one under tmux."""
    if tmux is not None:
        if tmux.client_type:
            return parse_version(tmux.client_type)
        term = tmux.client_term.lower()
        if "kitty" in term:
            return Emulator("kitty", (), "kitty (version unknown)")
        if "ghostty" in term:
            return Emulator("ghostty", (), "ghostty")
        return Emulator("", (), "")
    if answers.version:
        return parse_version(answers.version)
    program = env.get("TERM_PROGRAM", "")
    if program:
        return parse_version(f"{program} {env.get('TERM_PROGRAM_VERSION', '')}")
    if "kitty" in env.get("TERM", "") or env.get("KITTY_WINDOW_ID"):
        return Emulator("kitty", (), "kitty (version unknown)")
    return Emulator("", (), "")


def placeholders(emulator: Emulator) -> tuple[bool | None, str]:
    """Whether Kitty's Unicode placeholders work there: (True/False/None unknown, why)."""
    name, version = emulator.name, emulator.version
    if name == "kitty":
        if not version:
            return None, "kitty without a version answer: Unicode placeholders need kitty >= 0.28"
        if version >= KITTY_PLACEHOLDERS_SINCE:
            return True, f"kitty {'.'.join(map(str, version))} has Unicode placeholders (kitty >= 0.28)"
        return False, (f"kitty {'.'.join(map(str, version))} answers Kitty graphics but has no Unicode "
                       "placeholders (they came in kitty 0.28): pictures would be empty boxes")
    if name == "ghostty":
        return True, "Ghostty draws Kitty Unicode placeholders"
    if name == "wezterm":
        return False, "WezTerm answers Kitty graphics but does not draw its Unicode placeholders"
    if name == "konsole":
        return False, "Konsole answers Kitty graphics but does not draw its Unicode placeholders"
    label = emulator.label or "an unnamed terminal (no XTVERSION answer)"
    return None, f"{label} answers Kitty graphics; its Unicode placeholder support is unknown, so it is not used"


@dataclass(frozen=True)
class Choice:
    protocol: str
    reasons: tuple[str, ...]
    warnings: tuple[str, ...]
    placeholders: bool | None


def choose(want: str, answers: Answers, env: dict[str, str], tmux: TmuxInfo | None, probed: bool) -> Choice:
    """The protocol for `want` (auto or forced), why, and a warning when a forced one was not offered."""
    emulator = identify(answers, env, tmux)
    reasons: list[str] = []
    warnings: list[str] = []
    ph_ok, ph_why = placeholders(emulator)
    kitty_ok = bool(answers.kitty) and ph_ok is True
    if tmux is not None:
        version = tmux.version or "?"
        if tmux.passthrough is False:
            reasons.append(f"inside tmux {version} with allow-passthrough off: Kitty graphics cannot reach "
                           "the terminal")
        elif answers.kitty is None and probed:
            outer = identify(answers, env, tmux).label or "the outer terminal"
            reasons.append(f"inside tmux {version}: no Kitty graphics from {outer} through passthrough")
    if answers.kitty:
        reasons.append(ph_why)
    elif answers.kitty is False:
        reasons.append(f"the terminal refused the Kitty graphics query ({answers.kitty_error or 'error'})")
    if answers.answered:
        reasons.append("primary DA lists Sixel (4)" if answers.sixel else "primary DA does not list Sixel")
    elif probed:
        reasons.append("the terminal did not answer in time (primary DA)")
    if want == "auto":
        if kitty_ok:
            protocol = "kitty"
        elif answers.sixel:
            protocol = "sixel"
        else:
            protocol = "halfcell"
    else:
        protocol = want
        if want == "kitty" and not kitty_ok:
            if not probed:
                warnings.append("Kitty graphics forced, but the terminal was not asked (no answer to check)")
            elif not answers.kitty:
                warnings.append("Kitty graphics forced, but the terminal did not answer the Kitty graphics query: "
                                "pictures may be garbage or missing (try --image-protocol auto)")
            elif ph_ok is False:
                warnings.append(f"Kitty graphics forced, but {ph_why}")
            else:
                warnings.append(f"Kitty graphics forced: {ph_why}")
        if want == "sixel" and not answers.sixel:
            if not probed:
                warnings.append("Sixel forced, but the terminal was not asked (no answer to check)")
            else:
                warnings.append("Sixel forced, but the terminal does not list Sixel in its primary DA: "
                                "pictures may be garbage or missing (try --image-protocol auto)")
    return Choice(protocol, tuple(r for r in reasons if r), tuple(warnings), ph_ok)


def colour_depth(answers: Answers, env: dict[str, str], tmux: TmuxInfo | None) -> tuple[str, str]:
    """("truecolor" | "256" | "16", where that came from)."""
    colorterm = env.get("COLORTERM", "").strip().lower()
    if colorterm in ("truecolor", "24bit"):
        return "truecolor", f"COLORTERM={colorterm}"
    if tmux is not None:
        if "RGB" in tmux.features or "Tc" in tmux.features:
            return "truecolor", "tmux terminal-features include RGB"
        if "256" in tmux.features:
            return "256", "tmux terminal-features include 256 (no RGB)"
    if answers.sgr_rgb is True:
        return "truecolor", "the terminal kept a 24-bit colour (DECRQSS)"
    term = env.get("TERM", "").lower()
    if term.endswith("-direct") or term.endswith("-truecolor"):
        return "truecolor", f"TERM={term}"
    if "256color" in term or "kitty" in term:
        return "256", f"TERM={term}"
    if answers.sgr_rgb is False:
        return "256", "the terminal turned a 24-bit colour into its palette (DECRQSS)"
    return "16", f"TERM={term or '(unset)'} and no COLORTERM"


def colour_advice(depth: str, source: str, env: dict[str, str], tmux: TmuxInfo | None) -> list[str]:
    """The exact change that gives true colour, when it is not on."""
    if depth == "truecolor":
        return []
    advice: list[str] = []
    if tmux is not None:
        advice.append("tmux does not pass 24-bit colour: add to ~/.tmux.conf  "
                      "set -as terminal-features ',*:RGB'   (tmux < 3.2: set -ga terminal-overrides ',*:Tc'), "
                      "then `tmux kill-server` and start tmux again")
    else:
        advice.append("if your terminal has 24-bit colour (xterm, kitty, GNOME, iTerm2, WezTerm do): "
                      "export COLORTERM=truecolor   (e.g. in ~/.bashrc, or SendEnv/SetEnv COLORTERM over ssh)")
        if depth == "16":
            advice.append("at least 256 colours: export TERM=xterm-256color")
    return advice
