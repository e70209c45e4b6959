"""`garbtui recreate`: rebuild the garbage layout of an annotated reference photo on a clean background."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from garbtui.commands.generate import with_flag
from garbtui.core.text import printable
from garbtui.core.workspace.atomic import sweep_temp_files
from garbtui.core.workspace.models import BLEND_MODES
from garbtui.core.workspace.store import Workspace

NAME = "recreate"
HELP = "lay out a reference photo's annotated objects on a clean background, as a saved, rendered scene"
# Core parameters whose flag here is not `--` + the name (errors name core's parameter; cli.py maps it).
FIELD_FLAGS = {"scene_id": "--id", "reference_image_id": "--reference", "background_id": "--onto"}
DESCRIPTION = """\
Read the annotated objects of the reference image (images/<IMAGE_ID>: its crops' labels, boxes and
positions relative to its horizon or its size) and place cleaned fragments at the corresponding
positions of the background, perspective-scaled. Each object uses its own cleaned crop when there is
one, else another cleaned fragment with the same label, else the nearest class (same TACO
supercategory, then closest size prior); every substitution is printed.

Layout: on a road background with a horizon, a road reference with a horizon keeps each object's
depth below the horizon, its offset from the vanishing point and its perspective constant; a
reference without one is mapped onto the placement band with sizes from perspective. On other
backgrounds, positions and sizes are relative to the image.

Cutouts that `clean` scored as suspect (probably not a clean cutout of the object) are never used,
and a note says how many were left out, unless a person saved them in the app (curated) or
--include-suspect is given.

The scene is saved as scenes/<id>/scene.json and rendered (render.jpg + labels/) like `garbtui render`.
exit codes: 0 saved, 2 bad input (unknown image or background, nothing cleaned), 3 workspace problem.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-w", "--workspace", type=Path, default=Path("."), help="workspace folder (default: current folder)")
    parser.add_argument("--reference", required=True, metavar="IMAGE_ID", help="annotated image whose layout to copy")
    parser.add_argument("--onto", required=True, metavar="BACKGROUND_ID", help="clean background to place the fragments on")
    parser.add_argument("--id", dest="scene_id", metavar="SCENE_ID",
                        help="scene id (default: rec-<image>-<background>-<hash>, at most 40 characters)")
    parser.add_argument("--seed", type=int, default=0, help="seed for choosing among fragments of the same label (default 0)")
    parser.add_argument("--blend", choices=BLEND_MODES, default="feather", help="blend mode of every placement (default feather)")
    parser.add_argument("--other-fragments", action="store_true",
                        help="never use the reference's own crops: recreate it with other objects of each class")
    parser.add_argument("--include-suspect", action="store_true",
                        help="also use cutouts whose quality score is suspect (default: left out unless saved by hand)")
    parser.add_argument("--no-render", action="store_true", help="save scene.json only")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but warnings and errors")


def run(args: argparse.Namespace) -> int:
    from garbtui.core.export.scene_files import save_and_render
    from garbtui.core.recreate import recreate_scene

    ws = Workspace.open(args.workspace)
    scene, notes = recreate_scene(ws, args.reference, args.onto, seed=args.seed, scene_id=args.scene_id,
                                  blend=args.blend, use_own=not args.other_fragments,
                                  include_suspect=args.include_suspect)
    folder = ws.scene_dir(scene.id)
    if not args.quiet:
        for note in notes:
            print(f"note: {with_flag(note)}")
    if args.no_render:
        ws.save_scene(scene)
        if not args.quiet:
            print(f"saved {folder / 'scene.json'}: {len(scene.placements)} placement(s)")
        return 0
    sweep_temp_files(ws.scene_dir(scene.id), ("labels",))  # what an interrupted render of this scene left
    result = save_and_render(ws, scene)
    for warning in result.warnings:
        print(f"garbtui: warning: {printable(warning)}", file=sys.stderr)
    if not args.quiet:
        h, w = result.image.shape[:2]
        print(f"saved {folder / 'scene.json'} and rendered {folder / 'render.jpg'} ({w}x{h}): "
              f"{len(result.kept)} of {len(result.objects)} object(s) labelled")
        for obj in result.objects:
            x0, y0, x1, y1 = obj.bbox
            state = f"dropped: {obj.drop_reason}" if obj.dropped else f"box {x0},{y0}-{x1},{y1}"
            print(f"  {obj.placement_index + 1}: {obj.label} [{obj.crop_id}] {state}")
    return 0
