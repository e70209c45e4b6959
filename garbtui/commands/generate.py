"""`garbtui generate`: make N random, reproducible, labelled scenes as a training-ready dataset."""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from garbtui.commands.progress import progress_bar
from garbtui.core.errors import InputError
from garbtui.core.generate.recipe import BLEND_CHOICES, RunSettings
from garbtui.core.workspace.store import Workspace

NAME = "generate"
HELP = "generate N random, labelled scenes as a dataset (COCO, YOLO, Label Studio), resumable"
# Core parameters whose flag here is not `--` + the name (errors name core's parameter; cli.py maps it).
FIELD_FLAGS = {"out_dir": "--out", "backgrounds": "--background"}
DESCRIPTION = """\
Make COUNT random but plausible scenes from the workspace's cleaned fragments and backgrounds:
  road backgrounds   fragments along the road edges inside the placement band, scaled by perspective
                     (--per-image MIN-MAX of them, far ones drawn first)
  front backgrounds  one to a few large fragments near the centre
Classes are balanced over the run (least-placed class first). --blend sample picks a blend mode per
fragment; none / feather / poisson use one mode (none = plain paste, no colour match); all renders
every scene in the three modes (as Cut, Paste and Learn does), one image each.

OUT receives images/NAME.jpg, labels/NAME.txt (YOLO), recipes/NAME.json (the recipe that re-renders
the image, and its labels), coco.json (+ coco_train.json / coco_val.json), data.yaml, train.txt,
val.txt, classes.txt, labelstudio.json, summary.json. Same workspace, settings and --seed: same bytes,
whatever --workers or --engine. Rerunning the same command after an interruption renders only the
missing images; a larger --count adds images to the run.

--engine dask renders on Dask (pip install 'garbtui[dask]'): a LocalCluster of --workers processes, or
the scheduler at --scheduler ADDRESS (its workers must see the workspace at the same path).
exit codes: 0 done, 2 bad input (no cleaned fragments, no usable background, other settings in OUT),
3 workspace problem, 130 interrupted (rerun to resume).
"""


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
    parser.add_argument("--ls-prefix", default="", metavar="URL",
                        help="prefix of image paths in labelstudio.json (e.g. /data/local-files/?d=dataset/)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but warnings and errors")


def run(args: argparse.Namespace) -> int:
    from garbtui.core.generate.dataset import summary_lines
    from garbtui.core.generate.runner import generate_dataset

    if args.seed < 0:
        raise InputError(f"--seed must be >= 0, got {args.seed}")
    if not 1 <= args.quality <= 100:
        raise InputError(f"--quality must be 1-100, got {args.quality}")
    if args.workers < 1:
        raise InputError(f"--workers must be at least 1, got {args.workers}")
    if args.scheduler and args.engine != "dask":
        raise InputError("--scheduler needs --engine dask")
    ws = Workspace.open(args.workspace)
    settings = RunSettings(seed=args.seed, per_image=args.per_image, blend=args.blend, val_fraction=args.val_fraction,
                           size=args.size, jpeg_quality=args.quality,
                           backgrounds=sorted(set(args.backgrounds)) if args.backgrounds else None)
    start = time.perf_counter()
    with progress_bar("generate", enabled=None if not args.quiet else False) as bar:
        report = generate_dataset(ws, args.out, args.count, settings, workers=args.workers, engine=args.engine,
                                  scheduler=args.scheduler, progress=bar, ls_prefix=args.ls_prefix)
    elapsed = time.perf_counter() - start
    for note in report.notes:
        print(f"garbtui: warning: {note}", file=sys.stderr)
    if not args.quiet:
        rate = report.rendered / elapsed if elapsed > 0 else 0.0
        print(f"{report.images} image(s) in {report.out_dir}: {report.rendered} rendered now"
              + (f" ({rate:.1f}/s)" if report.rendered else "")
              + (f", {report.reused} kept from an earlier run" if report.reused else ""))
        print(f"train {report.summary.images['train']}, val {report.summary.images['val']}; "
              f"{report.summary.objects} labelled object(s)"
              + (f", {report.summary.dropped} placement(s) hidden or outside" if report.summary.dropped else ""))
        for line in summary_lines(report.summary):
            print("  " + line)
        print(f"COCO {report.out_dir / 'coco.json'}, YOLO {report.out_dir / 'data.yaml'}, "
              f"Label Studio {report.out_dir / 'labelstudio.json'}")
    return 0
