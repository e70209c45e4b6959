"""`garbtui extract`: cut one crop per annotated object of a Label Studio or COCO export."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from garbtui.commands.progress import progress_bar
from garbtui.core.errors import InputError, Interrupted
from garbtui.core.extract.crops import DEFAULT_MARGIN, ExtractOptions, ExtractReport, extract, load_export
from garbtui.core.extract.labelstudio import parse_config
from garbtui.core.extract.paths import PathResolver, parse_path_map
from garbtui.core.text import printable
from garbtui.core.workspace.atomic import sweep_temp_files
from garbtui.core.workspace.store import Workspace

NAME = "extract"
HELP = "cut one crop per annotated object from a Label Studio (JSON / JSON-MIN) or COCO export"
DESCRIPTION = """\
Read EXPORT (Label Studio JSON or JSON-MIN export, a COCO instances file, or Label Studio's COCO
export zip; the format is detected) and cut one crop per annotated object, with a background margin, into the workspace:
  images/<id>/image.jpg|png, task.json, meta.json      the source photo, upright (EXIF applied)
  crops/<id>/raw.png, meta.json [, mask.png]           the crop and where it came from

Image references are resolved like this:
  /data/local-files/?d=REL   -> --local-files-root/REL   (Label Studio LOCAL_FILES_DOCUMENT_ROOT)
  /data/upload/P/NAME        -> --media-root/upload/P/NAME (Label Studio media folder)
  absolute paths             -> as they are, after --path-map OLD=NEW rewrites
  relative paths             -> from the export's folder (COCO: from --images-root)
  ../relative paths          -> (Label Studio's COCO zip) the path after the ../ parts, or its tail,
                                under --images-root, then --local-files-root, then --media-root
A reference is read only inside those folders (or a --path-map target): one that climbs out of its
root (../, %2e%2e, an absolute path elsewhere) is skipped, and so is one that passes a symbolic link
unless --follow-symlinks is given.

A re-run adds nothing twice and never rewrites raw.png or touches proc.png; an object already cut from
another project of the same photo (same label, boxes overlapping 70% or more) is not cut again.
Ctrl-C stops after the photos being cut (exit 130): run the same command again to finish.
exit codes: 0 all extracted, 1 some objects skipped (listed), 2 bad input (nothing extracted), 3 workspace
problem, 130 interrupted.

examples:
  garbtui extract project.json -w ws --local-files-root /srv/ls/files --media-root /srv/ls/media
  garbtui extract project.json -w ws --path-map /srv/labelstudio/files=/data/photos
  garbtui extract annotations.json -w ws --images-root photos/ --scene road
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("export", type=Path, help="Label Studio JSON / JSON-MIN export or COCO instances JSON")
    parser.add_argument("-w", "--workspace", type=Path, required=True, help="workspace folder (created if missing)")
    parser.add_argument("--config", type=Path, help="Label Studio labeling config (XML): names the image data key and Choices")
    parser.add_argument("--local-files-root", type=Path, help="folder that /data/local-files/?d= paths are relative to")
    parser.add_argument("--media-root", type=Path, help="Label Studio media folder (holding upload/) for /data/upload/ paths")
    parser.add_argument("--images-root", type=Path,
                        help="folder that relative image paths are taken from (default: the export's folder)")
    parser.add_argument("--path-map", action="append", default=[], metavar="OLD=NEW",
                        help="rewrite an absolute path prefix of the annotating machine (repeatable)")
    parser.add_argument("--follow-symlinks", action="store_true",
                        help="read images reached through symbolic links inside the roots (refused by default)")
    parser.add_argument("--margin", type=float, default=DEFAULT_MARGIN,
                        help=f"background margin around each object, as a fraction of its box side (default {DEFAULT_MARGIN})")
    parser.add_argument("--scene", choices=("road", "front"),
                        help="scene kind for the whole export (else from a Choices control)")
    parser.add_argument("--annotations", choices=("latest", "all"), default="latest",
                        help="latest non-cancelled annotation per task (default) or all of them")
    parser.add_argument("--predictions", action="store_true", help="also extract predictions (pre-annotations)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the summary line")


def run(args: argparse.Namespace) -> int:
    if not 0.0 <= args.margin <= 5.0:
        raise InputError(f"--margin must be between 0 and 5, got {args.margin}")
    options = ExtractOptions(margin=args.margin, scene=args.scene, annotations=args.annotations,
                             predictions=args.predictions)
    config = parse_config(args.config) if args.config else None
    parsed = load_export(args.export, config=config, options=options)
    resolver = PathResolver(
        base_dir=(args.images_root or args.export.parent).resolve(),
        local_files_root=args.local_files_root.resolve() if args.local_files_root else None,
        media_root=args.media_root.resolve() if args.media_root else None,
        path_maps=[parse_path_map(m) for m in args.path_map],
        follow_symlinks=args.follow_symlinks,
    )
    ws = Workspace.create(args.workspace)
    sweep_temp_files(ws.root)  # leftovers of a killed earlier run
    try:
        with progress_bar("extracting") as progress:
            report = extract(ws, parsed, resolver, options, progress=progress)
    except Interrupted as stopped:
        partial = stopped.partial if isinstance(stopped.partial, ExtractReport) else ExtractReport()
        _print_report(args, partial)
        print(f"garbtui: interrupted after {stopped.done} of {stopped.total} photo(s); every crop made is kept: "
              "run the same command again to resume", file=sys.stderr)
        return 130
    _print_report(args, report)
    if not parsed.items and report.skipped:
        return 2
    if report.crops_new == 0 and report.crops_existing == 0:
        return 2
    real_skips = [s for s in report.skipped if not _benign(s.reason)]
    return 1 if real_skips else 0


def _print_report(args: argparse.Namespace, report: ExtractReport) -> None:
    """The skip and note lines (every name escaped: one line each, whatever the export holds) and the summary."""
    if not args.quiet:
        for skip in report.skipped:
            print(f"skipped  {printable(skip.where)}: {printable(skip.reason)}", file=sys.stderr)
        for note in report.notes:
            print(f"note     {printable(note.where)}: {printable(note.reason)}", file=sys.stderr)
    print(
        f"{printable(args.export.name)} ({report.format}): {report.images_new} new image(s), {report.images_seen} "
        f"already there; {report.crops_new} new crop(s), {report.crops_existing} already there; "
        f"{len(report.skipped)} skipped" + (f", {len(report.notes)} note(s)" if report.notes else "")
    )


def _benign(reason: str) -> bool:
    """Skips that are the export working as intended, not a problem with it."""
    return reason in ("no annotation", "no regions", "cancelled annotation") or reason.startswith("older annotation") \
        or reason.startswith("prediction listed by id")
