"""`garbtui doctor`: what the terminal supports for inline images and colour, why, and what to change."""

from __future__ import annotations

import argparse
import json
import os

NAME = "doctor"
HELP = "show the detected image protocol, colours, cell size, TERM and tmux, with the reasons and fixes"
DESCRIPTION = """\
Ask the terminal (on /dev/tty, so `garbtui doctor --json | jq` works too) what `garbtui open` would
ask, wait for every answer (a few seconds at most) so none is left typed at the shell prompt, and print
what was found: the image protocol that would be used and why, the terminal's name and version, Kitty
Unicode placeholders, the Sixel size limit, the colour depth and where it came from, tmux passthrough,
and the exact settings to change.
exit codes: 0 always.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from garbtui.tui.terminal import PROTOCOLS

    parser.add_argument("--image-protocol", choices=PROTOCOLS, default=None, help="check this protocol choice")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds to wait for the terminal's answers (default 2)")


def advice_for(info) -> list[str]:  # noqa: ANN001
    """Every change that would give better pictures or colours here, as exact commands."""
    from garbtui.tui.term import caps
    from garbtui.tui.terminal import ENV_TIMEOUT, tmux_advice

    advice = list(tmux_advice(info))
    if info.tty and not info.probed and info.requested in ("auto", "kitty", "sixel"):
        advice.append(f"the terminal did not answer in {info.timeout:.1f} s: over a slow link raise {ENV_TIMEOUT} "
                      f"(e.g. export {ENV_TIMEOUT}=2), or force --image-protocol")
    if info.kitty and info.placeholders is False and "kitty" in info.emulator.lower():
        advice.append("kitty >= 0.28 draws Kitty graphics here (Unicode placeholders); Debian 12 / Ubuntu 22.04 "
                      "ship 0.26.5: install kitty from its own installer or a newer distribution")
    if info.kitty and info.placeholders is None:
        advice.append("if this terminal draws Kitty Unicode placeholders, use --image-protocol kitty "
                      "(or GARBTUI_IMAGE_PROTOCOL=kitty)")
    if info.protocol == "halfcell" and info.tty and not info.tmux and not info.kitty and not info.sixel:
        advice.append("no Kitty graphics or Sixel here: half-cells are used (works everywhere, lower detail); "
                      "xterm draws Sixel when started as `xterm -ti vt340`")
    if info.protocol == "sixel" and info.sixel_max and max(info.sixel_max) <= 1000:
        w, h = info.sixel_max
        advice.append(f"Sixel pictures are limited to {w}x{h} px by the terminal; xterm: "
                      "`xterm -xrm 'XTerm*maxGraphicSize: 4096x4096'` for larger previews")
    if info.colours != "truecolor" and not info.tmux:
        advice.extend(caps.colour_advice(info.colours, info.colour_source, dict(os.environ), None))
    return advice


def run(args: argparse.Namespace) -> int:
    from garbtui.tui.data.config import config_path
    from garbtui.tui.terminal import ENV_PROTOCOL, detect

    info = detect(args.image_protocol, doctor=True, timeout=args.timeout)
    advice = advice_for(info)
    colorterm = os.environ.get("COLORTERM", "")
    if args.json:
        payload = {
            "protocol": info.protocol, "requested": info.requested, "reasons": list(info.reasons),
            "warnings": list(info.warnings),
            "cell_size": [info.cell_width, info.cell_height], "term": info.term, "term_program": info.term_program,
            "terminal": info.emulator, "kitty_placeholders": info.placeholders,
            "colorterm": colorterm, "colours": info.colours, "colour_source": info.colour_source,
            "tmux": info.tmux, "tmux_version": info.tmux_version, "tmux_passthrough": info.tmux_passthrough,
            "tmux_features": list(info.tmux_features),
            "tty": info.tty, "answered": info.probed, "answer_seconds": round(info.probe_seconds, 3),
            "sixel": info.sixel, "sixel_max": list(info.sixel_max) if info.sixel_max else None,
            "sixel_colours": info.sixel_colours, "kitty": info.kitty,
            "notes": info.notes, "advice": advice, "config": str(config_path()),
        }
        print(json.dumps(payload, indent=2))
        return 0
    answered = (f"answered in {info.probe_seconds:.2f} s" if info.probed else "no answer" if info.tty
                else "no terminal (/dev/tty)")
    print(f"image protocol  {info.protocol}   (asked: {info.requested}; set --image-protocol or {ENV_PROTOCOL})")
    for reason in info.reasons:
        print(f"  because       {reason}")
    print(f"terminal        {info.emulator or 'unknown (no XTVERSION answer)'}   {answered}")
    print(f"                sixel {'yes' if info.sixel else 'no'}"
          + (f" (max {info.sixel_max[0]}x{info.sixel_max[1]} px, {info.sixel_colours} colours)"
             if info.sixel and info.sixel_max else "")
          + f", kitty graphics {'yes' if info.kitty else 'no'}"
          + ("" if not info.kitty else {True: " (Unicode placeholders: yes)", False: " (Unicode placeholders: no)",
                                        None: " (Unicode placeholders: unknown)"}[info.placeholders]))
    print(f"colours         {info.colours}   ({info.colour_source})")
    print(f"cell size       {info.cell_width}x{info.cell_height} px")
    print(f"TERM            {info.term or '(unset)'}" + (f"   TERM_PROGRAM {info.term_program}" if info.term_program else ""))
    print(f"COLORTERM       {colorterm or '(unset)'}")
    if info.tmux:
        passthrough = {True: "on", False: "off", None: "unknown"}[info.tmux_passthrough]
        print(f"tmux            {info.tmux_version or 'yes'}, allow-passthrough {passthrough}"
              + (f", features {','.join(info.tmux_features)}" if info.tmux_features else ""))
    else:
        print("tmux            no")
    print(f"settings file   {config_path()}")
    for warning in info.warnings:
        print(f"warning: {warning}")
    for note in info.notes:
        print(f"note: {note}")
    for line in advice:
        print(f"advice: {line}")
    return 0
