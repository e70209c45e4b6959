"""`garbtui doctor`: what the terminal supports for inline images, and how to set up tmux."""

from __future__ import annotations

import argparse
import json
import os

NAME = "doctor"
HELP = "show the detected image protocol, cell size, TERM and tmux, with advice"
DESCRIPTION = """\
Probe the terminal the way `garbtui open` does (a short query, never longer than a fraction of a
second) and print what was found: the image protocol that would be used, the cell size in pixels,
TERM, whether tmux is in the way, and what to change in ~/.tmux.conf.
exit codes: 0 always.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from garbtui.tui.terminal import PROTOCOLS

    parser.add_argument("--image-protocol", choices=PROTOCOLS, default=None, help="check this protocol choice")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def run(args: argparse.Namespace) -> int:
    from garbtui.tui.data.config import config_path
    from garbtui.tui.terminal import ENV_PROTOCOL, detect, tmux_advice

    info = detect(args.image_protocol)
    advice = tmux_advice(info)
    if info.protocol == "halfcell" and info.tty and not info.tmux:
        advice.append("no Kitty graphics or Sixel answer: half-cells are used (works everywhere, lower detail)")
    colorterm = os.environ.get("COLORTERM", "")
    if info.protocol in ("halfcell", "unicode") and colorterm not in ("truecolor", "24bit"):
        advice.append("COLORTERM is not truecolor: if colours look banded, export COLORTERM=truecolor")
    if args.json:
        payload = {
            "protocol": info.protocol, "requested": info.requested,
            "cell_size": [info.cell_width, info.cell_height], "term": info.term, "term_program": info.term_program,
            "colorterm": colorterm, "tmux": info.tmux, "tty": info.tty, "answered": info.probed,
            "sixel": info.sixel, "kitty": info.kitty, "notes": info.notes, "advice": advice,
            "config": str(config_path()),
        }
        print(json.dumps(payload, indent=2))
        return 0
    print(f"image protocol  {info.protocol}   (asked: {info.requested}; set --image-protocol or {ENV_PROTOCOL})")
    print(f"cell size       {info.cell_width}x{info.cell_height} px")
    print(f"TERM            {info.term or '(unset)'}" + (f"   TERM_PROGRAM {info.term_program}" if info.term_program else ""))
    print(f"COLORTERM       {colorterm or '(unset)'}")
    print(f"tmux            {'yes' if info.tmux else 'no'}")
    print(f"terminal        {'answered the graphics query' if info.probed else 'no answer' if info.tty else 'not a TTY'}"
          f"  (sixel {'yes' if info.sixel else 'no'}, kitty graphics {'yes' if info.kitty else 'no'})")
    print(f"settings file   {config_path()}")
    for note in info.notes:
        print(f"note: {note}")
    for line in advice:
        print(f"advice: {line}")
    return 0
