"""`garbtui generate`: make N random, reproducible, labelled scenes as a training-ready dataset."""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from garbtui.commands.progress import progress_bar
from garbtui.core.errors import InputError
from garbtui.core.export.coco import COCO_MASKS
from garbtui.core.export.yolo import YOLO_MODES
from garbtui.core.generate.recipe import BLEND_CHOICES, RunSettings
from garbtui.core.generate.runner import DEFAULT_WORKER_TIMEOUT
from garbtui.core.scene.trust import INCLUDE_SUSPECTS
from garbtui.core.workspace.store import Workspace

NAME = "generate"
HELP = "generate N random, labelled scenes as a dataset (COCO, YOLO, Label Studio), resumable"
# Core parameters whose flag here is not `--` + the name (errors name core's parameter; cli.py maps it).
FIELD_FLAGS = {"out_dir": "--out", "backgrounds": "--background"}
DESCRIPTION = """\
Make COUNT random but plausible scenes from the workspace's cleaned fragments and backgrounds:
fragments are placed on the ground of each background (--per-image MIN-MAX of them per scene),
sized for where they lie, far ones drawn first. Classes are balanced over the run (least-placed
class first). --blend sample picks a blend mode per fragment; none / feather / poisson use one mode
(none = plain paste, no colour match); all renders every scene in the three modes (as Cut, Paste and
Learn does), one image each.

OUT is laid out as Ultralytics, COCO and Label Studio read it, as is:
  images/{train,val}/NAME.jpg, labels/{train,val}/NAME.txt (YOLO: --yolo segment or both: outlines,
  detect: boxes; both also writes boxes to labels-detect/), data.yaml (`yolo train data=OUT/data.yaml`),
  coco.json (every image) + annotations/instances_{train,val}.json, labelstudio/tasks.json +
  labelstudio/config.xml, classes.txt, summary.json, report.png (sample images with their boxes and
  outlines, class and object-size histograms), recipes/NAME.json (re-renders the image; its labels).
Objects whose visible box (after occlusion and rotation) has a longest side under 8 px are left out
of the labels and counted in the summary. Same workspace, settings and --seed: same bytes, whatever
--workers or --engine. Rerunning the same command after an interruption renders only the missing
images; a larger --count adds images to the run.

Label Studio: the tasks' image URLs are /data/local-files/?d=<OUT's absolute path>/images/...: start
Label Studio with LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true and add a Local Files source storage
whose absolute path is OUT (no sync needed), then import labelstudio/tasks.json into a project whose
labeling config is labelstudio/config.xml. --ls-prefix URL replaces the part before images/ (for
another document root, or images served over HTTP).

Honest labels: cutouts that `clean` scored as suspect (probably not a clean cutout of the object, e.g. a
box that held only ground) are left out, and the run says how many, unless a person saved them in the
app (curated) or --include-suspect is given.

--engine dask renders on Dask (pip install 'garbtui[dask]'): a LocalCluster of --workers processes, or
the scheduler at --scheduler ADDRESS; workers need no shared folder (fragments and backgrounds are sent
to them once). With no worker connected for --worker-timeout seconds the run stops, keeping its images.
exit codes: 0 done, 1 done but every image came out empty, 2 bad input (no cleaned fragments, no usable
background, other settings in OUT), 3 workspace problem, 130 interrupted (rerun to resume).
"""


def with_flag(note: str) -> str:
    """A core note, with the flag that includes suspect cutouts named where it says they can be included."""
    return f"{note} (--include-suspect)" if note.endswith(INCLUDE_SUSPECTS) else note


def _range(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", text)
    if not m:
        raise argparse.ArgumentTypeError(f"expected MIN-MAX (e.g. 2-6) or N, got {text!r}")
    lo = int(m.group(1))
    hi = int(m.group(2)) if m.group(2) else lo
    if not (1 <= lo <= hi):
        raise argparse.ArgumentTypeError(f"expected 1 <= MIN <= MAX, got {text!r}")
    return lo, hi


def _size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"expected WxH (e.g. 640x480), got {text!r}")
    return int(m.group(1)), int(m.group(2))


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from garbtui.core.generate.runner import default_workers

    parser.add_argument("-w", "--workspace", type=Path, default=Path("."), help="workspace folder (default: current folder)")
    parser.add_argument("--count", type=int, required=True, metavar="N", help="number of scenes")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder (new, empty, or a run to resume)")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="random seed, >= 0 (default 0)")
    parser.add_argument("--workers", type=int, default=default_workers(), metavar="N",
                        help=f"worker processes (default: the number of CPUs, here {default_workers()})")
    parser.add_argument("--per-image", type=_range, default=(3, 8), metavar="MIN-MAX",
                        help="fragments per road scene (default 3-8; front scenes get 1 to min(3, MAX))")
    parser.add_argument("--blend", choices=BLEND_CHOICES, default="sample",
                        help="blend mode: sample (per fragment), none, feather, poisson, or all (default sample)")
    parser.add_argument("--val-fraction", type=_fraction, default=0.2, metavar="F",
                        help="fraction of scenes in the val split (default 0.2)")
    parser.add_argument("--size", type=_size, default=(640, 480), metavar="WxH", help="output image size (default 640x480)")
    parser.add_argument("--quality", type=int, default=92, metavar="Q", help="JPEG quality 1-100 (default 92)")
    parser.add_argument("--background", action="append", dest="backgrounds", metavar="ID",
                        help="use only this background (repeatable; default: every usable background)")
    parser.add_argument("--engine", choices=("local", "dask"), default="local",
                        help="local processes (default) or Dask")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address (default: a LocalCluster)")
    parser.add_argument("--yolo", choices=YOLO_MODES, default="both",
                        help="YOLO labels: detect (boxes), segment (outlines) or both (default: outlines in labels/, "
                             "boxes in labels-detect/)")
    parser.add_argument("--coco-masks", choices=COCO_MASKS, default="rle",
                        help="COCO segmentation: rle (exact visible mask, default) or polygon (outlines)")
    parser.add_argument("--ls-prefix", default=None, metavar="URL",
                        help="Label Studio image URL prefix, put before images/... (default: "
                             "/data/local-files/?d=<OUT's absolute path>/)")
    parser.add_argument("--worker-timeout", type=float, default=DEFAULT_WORKER_TIMEOUT, metavar="SECONDS",
                        help=f"Dask: stop when no worker is connected for this long (default {DEFAULT_WORKER_TIMEOUT:g})")
    parser.add_argument("--include-suspect", action="store_true",
                        help="also use cutouts whose quality score is suspect (default: left out unless saved by hand)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but warnings and errors")


def run(args: argparse.Namespace) -> int:
    from garbtui.core.export.dataset import DatasetOptions, summary_lines
    from garbtui.core.generate.runner import generate_dataset

    if args.seed < 0:
        raise InputError(f"--seed must be >= 0, got {args.seed}")
    if not 1 <= args.quality <= 100:
        raise InputError(f"--quality must be 1-100, got {args.quality}")
    if args.scheduler and args.engine != "dask":
        raise InputError("--scheduler needs --engine dask")
    ws = Workspace.open(args.workspace)
    settings = RunSettings(seed=args.seed, per_image=args.per_image, blend=args.blend, val_fraction=args.val_fraction,
                           size=args.size, jpeg_quality=args.quality,
                           backgrounds=sorted(set(args.backgrounds)) if args.backgrounds else None)
    options = DatasetOptions(yolo=args.yolo, coco_masks=args.coco_masks, ls_prefix=args.ls_prefix)
    start = time.perf_counter()
    with progress_bar("generate", enabled=None if not args.quiet else False) as bar:
        report = generate_dataset(ws, args.out, args.count, settings, workers=args.workers, engine=args.engine,
                                  scheduler=args.scheduler, progress=bar, options=options,
                                  worker_timeout=args.worker_timeout, include_suspect=args.include_suspect)
    elapsed = time.perf_counter() - start
    for note in report.notes:
        print(f"garbtui: warning: {with_flag(note)}", file=sys.stderr)
    summary = report.summary
    drops = summary.drops
    why = ", ".join(f"{n} {what}" for n, what in ((drops.hidden, "hidden"), (drops.outside, "outside the image"),
                                                   (drops.too_small, "under 8 px")) if n)
    if summary.empty_images:
        causes = [f"{summary.unplanned_images} with nothing placed: no fragment fits their background at this size"
                  ] if summary.unplanned_images else []
        causes += [f"placements left out: {why}"] if why else []
        print(f"garbtui: warning: {summary.empty_images} of {summary.total_images} image(s) have no labelled object"
              + (f" ({'; '.join(causes)})" if causes else ""), file=sys.stderr)
    if not args.quiet:
        rate = report.rendered / elapsed if elapsed > 0 else 0.0
        print(f"{report.images} image(s) in {report.out_dir}: {report.rendered} rendered now"
              + (f" ({rate:.1f}/s)" if report.rendered else "")
              + (f", {report.reused} kept from an earlier run" if report.reused else ""))
        print(f"train {summary.images['train']}, val {summary.images['val']}; {summary.objects} labelled object(s)"
              + (f", {summary.dropped} placement(s) left out ({why})" if summary.dropped else "")
              + (f", {summary.empty_images} image(s) empty" if summary.empty_images else ""))
        for line in summary_lines(summary):
            print("  " + line)
        out = report.out_dir
        print(f"YOLO {out / 'data.yaml'}, COCO {out / 'coco.json'}, Label Studio {out / 'labelstudio' / 'tasks.json'}, "
              f"report {out / 'report.png'}")
    return 1 if summary.total_images and summary.empty_images == summary.total_images else 0
