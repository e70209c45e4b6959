"""`garbtui segment`: mark where litter may lie on backgrounds and photos (seg.json + seg.png)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from garbtui.commands.progress import progress_bar
from garbtui.core.errors import InputError
from garbtui.core.workspace.store import Workspace

NAME = "segment"
HELP = "mark the surfaces of backgrounds and photos (road, pavement, grass, ground; cars, sky, walls...)"
DESCRIPTION = """\
Writes backgrounds/<id>/seg.json + seg.png (and images/<id>/ for annotated photos): a per-pixel map of
surfaces. generate and recreate put litter only on road, pavement, grass and ground, never on a
vehicle, person, sky or building. Without seg.json they use the automatic estimate (--model auto).

  garbtui segment -w WS                       every background and photo without a seg.json
  garbtui segment -w WS ID... --force         these ones, replacing hand-made maps too
  garbtui segment -w WS --model segformer-b0-ade/model.onnx

--model auto (default) needs no weights: colour-texture clustering, the horizon and the dash-cam bonnet.
--model PATH.onnx or a FOLDER holding model.onnx + config.json: a SegFormer export (ADE20K or Cityscapes
classes), run by onnxruntime (pip install 'garbtui[seg]'). Nothing is downloaded: see the README for how
to export a checkpoint with optimum-cli. Hand-made maps (the TUI's surfaces view) are kept unless --force.
exit codes: 0 ok, 1 some photos failed (each listed), 2 bad input (no such id, unusable model), 3 workspace problem.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ids", nargs="*", metavar="ID", help="background or photo ids (default: all without seg.json)")
    parser.add_argument("-w", "--workspace", type=Path, default=Path("."), help="workspace folder (default: current folder)")
    parser.add_argument("--model", default="auto", metavar="auto|PATH",
                        help="auto (no model, default), an .onnx file, or a folder holding an ONNX export")
    parser.add_argument("--force", action="store_true", help="segment again photos that have a seg.json, hand-made ones too")
    parser.add_argument("--threads", type=int, default=2, metavar="N", help="onnxruntime threads (default 2)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but warnings and errors")


def run(args: argparse.Namespace) -> int:
    from garbtui.core.scene.segment import ItemKind, open_segmenter, segment_item
    from garbtui.core.scene.surfaces import SEG_FILE

    if args.threads < 1:
        raise InputError(f"--threads must be at least 1, got {args.threads}")
    ws = Workspace.open(args.workspace)
    backgrounds, images = set(ws.background_ids()), set(ws.image_ids())
    todo: list[tuple[ItemKind, str]] = []
    if args.ids:
        for item in dict.fromkeys(args.ids):
            if item in backgrounds:
                todo.append(("background", item))
            elif item in images:
                todo.append(("image", item))
            else:
                raise InputError(f"{item} is neither a background nor a photo of the workspace", where=str(ws.root))
    else:
        todo = [("background", b) for b in sorted(backgrounds)] + [("image", i) for i in sorted(images)]
        if not args.force:
            todo = [(k, i) for k, i in todo
                    if not ((ws.background_dir(i) if k == "background" else ws.image_dir(i)) / SEG_FILE).is_file()]
    segmenter = open_segmenter(args.model, threads=args.threads)
    if not todo:
        if not args.quiet:
            print("nothing to segment: every background and photo has a seg.json (--force segments them again)")
        return 0
    failed = 0
    with progress_bar("segment", enabled=None if not args.quiet else False) as bar:
        bar(0, len(todo), "")
        for n, (kind, item) in enumerate(todo, 1):
            out = segment_item(ws, kind, item, segmenter, force=args.force)
            bar(n, len(todo), item)
            if out.status == "failed":
                failed += 1
                print(f"garbtui: warning: {kind} {item}: {out.message}", file=sys.stderr)
            elif out.status == "kept":
                print(f"kept     {kind} {item}: {out.message.replace('force', '--force')}", file=sys.stderr)
            elif not args.quiet:
                print(f"wrote    {kind} {item}: ground {100 * out.ground:.0f}% ({segmenter.name}, {out.seconds:.2f} s)")
    return 1 if failed else 0
