"""`garbtui background`: add clean photos to paste onto (horizon estimated or typed), list them, set a horizon."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from garbtui.core.errors import GarbError, InputError, WorkspaceError, WriteError
from garbtui.core.scene.backgrounds import add_background_ex, horizon_summary, set_horizon
from garbtui.core.text import printable
from garbtui.core.workspace.ids import check_id
from garbtui.core.workspace.models import BackgroundMeta
from garbtui.core.workspace.store import Workspace

NAME = "background"
HELP = "add clean background photos (road or front), list them, or set a horizon row"
# Core parameters whose flag here is not `--` + the name (errors name core's parameter; cli.py maps it).
FIELD_FLAGS = {"bg_id": "--id"}
DESCRIPTION = """\
Backgrounds are the clean photos fragments are pasted onto, stored as backgrounds/<id>/image.jpg|png
with a meta.json (scene kind, horizon row, camera height, where garbage may lie).

  garbtui background add PHOTO... -w WS --scene road|front [--horizon ROW] [--camera-height M] [--id ID]
                         [--segment [auto|MODEL.onnx]]
  garbtui background list -w WS
  garbtui background horizon ID ROW -w WS

Road photos get perspective scaling from a horizon row: without --horizon it is estimated from the
vanishing point of the lane and kerb lines. An estimate under confidence 0.30 (or in the lowest quarter
of the photo) is never used: it is kept as a suggestion, and litter is placed by the photo's surfaces
and the fragments' own source scale until you type the row with `background horizon`. The default
placement area of a road photo is the band from just below the horizon to the bottom edge.
Where litter may lie comes from seg.json (`garbtui segment`, --segment here, or the TUI's surfaces view),
else from the automatic estimate, whose share of ground is printed. Camera height (metres, default 1.5)
turns size priors into perspective constants.
exit codes: 0 ok, 1 some photo shows no ground at all (added anyway) or some photo was skipped (listed,
the others added) or, for list, some background is broken (named, the others listed), 2 bad input
(nothing added), 3 workspace problem.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    add = sub.add_parser("add", help="copy clean photos into the workspace as backgrounds")
    add.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="photo(s) to add")
    add.add_argument("-w", "--workspace", type=Path, required=True, help="workspace folder (created if missing)")
    add.add_argument("--scene", choices=("road", "front"), required=True, help="scene kind of the photo(s)")
    add.add_argument("--horizon", type=float, metavar="ROW", help="horizon row in pixels (road; else estimated)")
    add.add_argument("--camera-height", type=float, metavar="M", help="camera height above the ground in metres (default 1.5)")
    add.add_argument("--id", dest="bg_id", help="background id (one photo only; default: file name + content hash)")
    add.add_argument("--segment", nargs="?", const="auto", metavar="MODEL",
                     help="also write seg.json + seg.png: auto (default) or a model as `garbtui segment --model` takes")
    ls = sub.add_parser("list", help="list the workspace's backgrounds")
    ls.add_argument("-w", "--workspace", type=Path, default=Path("."), help="workspace folder (default: current folder)")
    ls.add_argument("--json", action="store_true", help="print each background's meta.json as one JSON list")
    hz = sub.add_parser("horizon", help="type the horizon row of a background")
    hz.add_argument("bg_id", metavar="ID", help="background id")
    hz.add_argument("row", type=float, metavar="ROW", help="horizon row in pixels")
    hz.add_argument("-w", "--workspace", type=Path, default=Path("."), help="workspace folder (default: current folder)")


def _line(meta: BackgroundMeta) -> str:
    return (f"{meta.id}  {meta.scene}  {meta.width}x{meta.height}  horizon {horizon_summary(meta)}  "
            f"camera {meta.camera_height_m:g} m")


def run(args: argparse.Namespace) -> int:
    if args.action == "add":
        return _add(args)
    if args.action == "list":
        ws = Workspace.open(args.workspace)
        # One broken background is one line on stderr (and exit 1), the others are still listed.
        metas: list[BackgroundMeta] = []
        broken = 0
        for bg_id in ws.background_ids():
            try:
                metas.append(ws.load_background_meta(bg_id))
            except GarbError as exc:
                broken += 1
                print(f"garbtui: background {printable(bg_id)}: broken: {printable(str(exc))}", file=sys.stderr)
        if args.json:
            print(json.dumps([m.model_dump(mode="json") for m in metas], indent=2))
            return 1 if broken else 0
        if not metas and not broken:
            print("no backgrounds yet; add one with `garbtui background add PHOTO -w WS --scene road|front`")
        for meta in metas:
            print(_line(meta))
        return 1 if broken else 0
    if args.action == "horizon":
        _typed_id(args.bg_id)
        ws = Workspace.open(args.workspace)
        if not (ws.background_dir(args.bg_id) / "meta.json").is_file():
            raise InputError(f"background {args.bg_id} does not exist", where=str(ws.root / "backgrounds"))
        meta = set_horizon(ws, args.bg_id, args.row)
        print(_line(meta))
        return 0
    raise InputError("say what to do: garbtui background add|list|horizon (see --help)")


def _typed_id(bg_id: str, field: str | None = None) -> None:
    """A background id typed on the command line that could not name a folder is bad input (exit 2)."""
    try:
        check_id(bg_id, "background id")
    except WorkspaceError as exc:
        raise InputError(exc.message, field=field) from None


def _add(args: argparse.Namespace) -> int:
    if args.bg_id:
        _typed_id(args.bg_id, "bg_id")
    if args.bg_id and len(args.paths) > 1:
        raise InputError("--id names one background; give one PATH with it")
    if args.horizon is not None and args.scene != "road":
        raise InputError("--horizon is for road photos (front scenes scale relative to the image)")
    ws = Workspace.create(args.workspace)
    from garbtui.core.scene.backgrounds import horizon_advice
    from garbtui.core.scene.segment import background_surfaces, open_segmenter, segment_item
    from garbtui.core.scene.surfaces import GROUND_SURFACES

    segmenter = open_segmenter(args.segment) if args.segment else None
    bare = skipped = worst = 0
    for path in args.paths:
        # One unusable photo (missing, not an image, too thin...) is one line; the others are still added.
        try:
            if not Path(path).exists():
                raise InputError("photo not found", where=str(path))
            added = add_background_ex(ws, path, args.scene, args.horizon, args.camera_height, args.bg_id)
        except WriteError:
            raise  # the workspace cannot be written: the other photos would fail the same way
        except GarbError as exc:
            skipped += 1
            worst = max(worst, exc.exit_code)
            print(f"skipped  {printable(exc.where or path)}: {printable(exc.message)}", file=sys.stderr)
            continue
        meta = added.meta
        print(("added    " if added.created else "updated  ") + _line(meta))
        advice = horizon_advice(meta)
        if advice:
            print(f"garbtui: warning: {meta.id}: {advice} "
                  f"(`garbtui background horizon {meta.id} ROW -w {printable(args.workspace)}`)", file=sys.stderr)
        if segmenter is not None:
            out = segment_item(ws, "background", meta.id, segmenter)
            if out.status != "written":
                print(f"garbtui: warning: {meta.id}: seg.json not written: {out.message.replace('force', 'segment --force')}",
                      file=sys.stderr)
        surfaces = background_surfaces(ws, meta)
        ground = surfaces.fraction(GROUND_SURFACES)
        kind = "automatic estimate" if surfaces.backend == "auto" else f"seg.json, {surfaces.backend}"
        print(f"         surfaces: {100 * ground:.0f}% ground ({kind})")
        if ground < 0.01:
            bare += 1
            print(f"garbtui: warning: {meta.id}: no ground found where litter could lie; mark it in the TUI's surfaces "
                  f"view or run `garbtui segment {meta.id} --model MODEL`", file=sys.stderr)
    if skipped == len(args.paths):
        return worst  # nothing added: the code of what went wrong (2 bad input, 3 workspace problem)
    return 1 if bare or skipped else 0
