"""The interface at the terminal's colour depth: Rich's colour system, and ANSI themes on 16 colours.

Rich decides the colour depth from COLORTERM and TERM only: stock xterm (TERM=xterm) gets 16 colours,
tmux without COLORTERM gets 256 even with `terminal-features ',*:RGB'`. The probe knows better
(garbtui.tui.term.caps.colour_depth); this applies it. On 16 colours the themes' 24-bit colours collapse
(a selected row red on red): the session then uses Textual's ANSI theme, whose colours are the
terminal's own, and half-cell pictures are dithered to the same 16 entries (image_view.halfcell_strips).
"""

from __future__ import annotations

import os
from typing import Any

from rich.console import ColorSystem

SYSTEMS = {"truecolor": ColorSystem.TRUECOLOR, "256": ColorSystem.EIGHT_BIT, "16": ColorSystem.STANDARD}


def apply_colour_depth(app: Any, depth: str) -> None:
    """Set the app console's colour system (unless TEXTUAL_COLOR_SYSTEM says otherwise) and, on 16
    colours, switch this session to an ANSI theme (not remembered as the user's choice)."""
    if os.environ.get("TEXTUAL_COLOR_SYSTEM", "auto") not in ("", "auto"):
        return
    system = SYSTEMS.get(depth)
    console = getattr(app, "console", None)
    if system is None or console is None:
        return
    if hasattr(console, "_color_system"):
        console._color_system = system
    if depth == "16":
        dark = bool(getattr(app.current_theme, "dark", True))
        name = "ansi-dark" if dark else "ansi-light"
        if name in app.available_themes:
            app._remember_theme = False  # a 16-colour session does not overwrite the saved theme
            app.theme = name
