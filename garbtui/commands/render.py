"""`garbtui render`: render one scene.json to render.jpg with COCO, YOLO and Label Studio labels."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from garbtui.core.errors import InputError
from garbtui.core.export.scene_files import DEFAULT_LS_IMAGE_REF, LABELS_DIR, RENDER_FILE, save_and_render
from garbtui.core.text import printable
from garbtui.core.workspace.atomic import sweep_temp_files
from garbtui.core.workspace.models import Scene
from garbtui.core.workspace.store import MARKER, FileStamp, Workspace

NAME = "render"
HELP = "render a scene (scenes/<id>/scene.json) to render.jpg with exact labels"
DESCRIPTION = """\
Render SCENE (a scenes/<id>/ folder or a scene.json file) and write, in the workspace's scenes/<id>/:
  render.jpg                       the composite (JPEG quality from the scene)
  labels/coco.json                 COCO instances: box + RLE mask of every visible object
  labels/yolo/{detect,segment}/render.txt, labels/yolo/classes.txt
  labels/labelstudio.json          a Label Studio task with the objects as predictions
The workspace is found from the scene's location (WS/scenes/<id>/scene.json) unless -w is given.
Objects hidden by later fragments beyond the scene's occlusion_drop are left out of the labels.
Placements outside the background's placement area are rendered and reported as warnings;
with --strict they are an error and nothing is written. Same scene file, same output bytes.
If scene.json is saved by someone else while it renders, their version is kept and nothing is written
(exit 3): render again.
exit codes: 0 rendered, 2 bad scene or input (--strict: a placement outside its area), 3 workspace problem.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scene", type=Path, metavar="SCENE_DIR_OR_JSON", help="scenes/<id>/ folder or a scene.json")
    parser.add_argument("-w", "--workspace", type=Path, help="workspace folder (default: inferred from the scene's location)")
    parser.add_argument("--strict", action="store_true", help="refuse placements outside the placement area")
    parser.add_argument("--ls-image-ref", default=DEFAULT_LS_IMAGE_REF, metavar="TEMPLATE",
                        help="Label Studio data.image of the render, {scene} = scene id (default: %(default)s, "
                             "which Label Studio resolves when LOCAL_FILES_DOCUMENT_ROOT is the workspace)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but warnings and errors")


def _scene_file(path: Path) -> Path:
    path = Path(path)
    if path.is_dir():
        path = path / "scene.json"
    if not path.is_file():
        raise InputError("scene file not found", where=str(path))
    return path


def _infer_workspace(scene_file: Path) -> Path:
    folder = scene_file.resolve().parent
    root = folder.parent.parent
    if folder.parent.name == "scenes" and ((root / MARKER).exists() or (root / "crops").is_dir()):
        return root
    raise InputError(f"cannot tell which workspace {scene_file} belongs to (it is not in WS/scenes/<id>/); pass -w")


def run(args: argparse.Namespace) -> int:
    scene_file = _scene_file(args.scene)
    ws = Workspace.open(args.workspace if args.workspace else _infer_workspace(scene_file))
    loaded = FileStamp.of(scene_file)
    scene = Scene.load(scene_file)
    # The version of the workspace's scene.json this render is of: if someone saves a newer one while a
    # large scene renders, theirs is kept and nothing is written (the render no longer describes it).
    own = scene_file.resolve() == ws.scene_dir(scene.id) / "scene.json"
    expected = loaded if own else ws.scene_stamp(scene.id)
    folder = scene_file.resolve().parent
    if folder.parent == (ws.root / "scenes").resolve() and scene.id != folder.name:
        # A copied or renamed scene folder: rendering it would overwrite scenes/<id>/ of the original.
        raise InputError(f"scene.json says id {scene.id!r} but lies in scenes/{folder.name}/; set its \"id\" to "
                         f"{folder.name!r} (or move it back)", where=str(scene_file))
    if args.strict:
        from garbtui.core.scene.backgrounds import load_seg, placement_check

        bg = ws.load_background_meta(scene.background_id)
        seg = load_seg(ws, bg.id)
        for i, p in enumerate(scene.placements):
            check = placement_check(bg, seg, p.x, p.y)
            if not check.ok:
                raise InputError(f"placement {i + 1} ({p.crop_id}): {check.reason}", where=str(scene_file))
    # What an interrupted render of this scene left (its staging folder): removed once its writer is gone.
    sweep_temp_files(ws.scene_dir(scene.id), (LABELS_DIR,))
    result = save_and_render(ws, scene, ls_image_ref=args.ls_image_ref, expected=expected, refuse_conflict=True)
    for warning in result.warnings:
        print(f"garbtui: warning: {printable(warning)}", file=sys.stderr)
    if not args.quiet:
        folder = ws.scene_dir(scene.id)
        h, w = result.image.shape[:2]
        kept = len(result.kept)
        dropped = len(result.objects) - kept
        print(f"rendered {folder / RENDER_FILE} ({w}x{h}): {kept} object(s) labelled"
              + (f", {dropped} dropped" if dropped else "") + f"; labels in {folder / LABELS_DIR}/")
        for obj in result.objects:
            x0, y0, x1, y1 = obj.bbox
            state = f"dropped: {obj.drop_reason}" if obj.dropped else (
                f"box {x0},{y0}-{x1},{y1}, {100 * obj.visible_fraction:.0f}% visible"
                + (", clipped at the border" if obj.clipped else ""))
            how = f"scale {obj.scale.scale:.3f} ({obj.scale.words})" if obj.scale else ""
            print(f"  {obj.placement_index + 1}: {obj.label} [{obj.crop_id}] {how}, {state}")
    return 0
