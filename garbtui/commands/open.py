"""`garbtui open [WORKSPACE]`: the terminal app on a workspace (current folder by default)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from garbtui.core.workspace.store import Workspace

NAME = "open"
HELP = "open a workspace in the terminal app (crop queue, cleanup, photos and backgrounds), or browse a dataset"
DESCRIPTION = """\
Open the terminal app on WORKSPACE (default: the current folder, or -w).
The home screen lists the crops still waiting for proc.png; enter cleans one, ? lists every key.
Given a folder written by `garbtui generate`, it opens the dataset browser instead: every image with
its boxes and outlines, split (s) and class (l) filters, objects per class, the recipe of the image,
and o to open that recipe as a scene in the workspace the dataset was made from.
Images are drawn with Kitty graphics where its Unicode placeholders work (kitty >= 0.28, Ghostty), Sixel
where the terminal lists it (within its size limit), else with coloured half-cells; force one with
--image-protocol or GARBTUI_IMAGE_PROTOCOL. The terminal is asked once at start-up (at most 0.35 s, 1 s
over ssh, GARBTUI_PROBE_TIMEOUT); `garbtui doctor` shows what it said and what to change.
exit codes: 0 ok, 3 not a workspace.
"""


def add_protocol_argument(parser: argparse.ArgumentParser) -> None:
    from garbtui.tui.terminal import PROTOCOLS

    parser.add_argument(
        "--image-protocol", choices=PROTOCOLS, default=None,
        help="how to draw images (default: $GARBTUI_IMAGE_PROTOCOL, else auto-detect)",
    )
    parser.add_argument("--theme", default=None, help="colour theme for this run (the palette's choice is remembered)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("workspace_pos", nargs="?", metavar="WORKSPACE", help="workspace folder (default: .)")
    parser.add_argument("-w", "--workspace", default=None, help="workspace folder (same as WORKSPACE)")
    add_protocol_argument(parser)


def launch(workspace: Path, image_protocol: str | None, theme: str | None = None, open_scene: str | None = None) -> int:
    """Open the workspace (errors before the screen switches) and run the app until it quits."""
    from garbtui.core.export.check import is_dataset

    if is_dataset(workspace) and open_scene is None:
        return browse_dataset(workspace, image_protocol, theme)
    Workspace.open(workspace)
    # Textual repaints on a 60 fps timer that can add up to two frames (33 ms) between a new preview
    # and the screen; 120 fps halves that. Read once when Textual is imported, so set it first.
    os.environ.setdefault("TEXTUAL_FPS", "120")
    from garbtui.tui.app import GarbApp

    GarbApp(workspace, image_protocol=image_protocol, theme=theme, open_scene=open_scene).run()
    return 0


def browse_dataset(dataset: Path, image_protocol: str | None, theme: str | None = None) -> int:
    """The dataset browser; an image's recipe opened as a scene continues in the workspace app."""
    from garbtui.tui.data.dataset import DatasetIndex

    DatasetIndex.scan(dataset)  # a broken folder is a one-line error before the screen switches
    os.environ.setdefault("TEXTUAL_FPS", "120")
    from garbtui.tui.dataset_app import DatasetApp

    chosen = DatasetApp(dataset, image_protocol=image_protocol, theme=theme).run()
    if chosen is not None:
        workspace, scene_id = chosen
        return launch(workspace, image_protocol, theme, open_scene=scene_id)
    return 0


def run(args: argparse.Namespace) -> int:
    workspace = Path(args.workspace_pos or args.workspace or ".")
    return launch(workspace, args.image_protocol, args.theme)
