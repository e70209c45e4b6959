"""`garbtui dataset check DIR`: verify a generated dataset as trainers will read it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from garbtui.core.errors import InputError

NAME = "dataset"
HELP = "check a generated dataset (images, labels, YOLO = COCO, splits)"
DESCRIPTION = """\
garbtui dataset check DIR
  Verify a folder written by `garbtui generate`: every image COCO lists is there, readable, at the
  size COCO says; every box inside its image and every class in range; each image's YOLO label files
  (labels/, labels-detect/) hold the COCO objects in the same order with the same boxes; train and
  val share no image; the split files and the Label Studio tasks cover every image.
  Memory stays flat: the files are read as streams.
exit codes: 0 ok, 1 problems found (each listed), 2 not a dataset folder.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="dataset_command", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="verify a dataset folder", description=DESCRIPTION,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("dataset", type=Path, metavar="DIR", help="dataset folder written by garbtui generate")
    check.add_argument("--json", action="store_true", help="print machine-readable JSON")


def run(args: argparse.Namespace) -> int:
    from garbtui.core.export.check import check_dataset, is_dataset

    root = Path(args.dataset)
    if not root.is_dir() or not is_dataset(root):
        raise InputError("not a dataset folder (no generate.json, or no data.yaml beside images/)", where=str(root))
    result = check_dataset(root)
    if args.json:
        print(json.dumps({
            "dataset": str(root.resolve()), "images": result.images, "objects": result.objects,
            "classes": len(result.classes), "ok": result.ok,
            "problems": [{"item": w, "reason": r} for w, r in result.problems], "more_problems": result.more_problems,
        }, indent=2))
    else:
        print(f"dataset  {root.resolve()}")
        print(f"images   {sum(result.images.values())}  (train {result.images['train']}, val {result.images['val']})")
        print(f"objects  {result.objects} in {len(result.classes)} class(es)")
        if result.ok:
            print("\ncheck: every image is there at its size, labels are in range, YOLO = COCO, splits are disjoint")
        else:
            total = len(result.problems) + result.more_problems
            print(f"\n{total} problem(s):")
            for where, reason in result.problems:
                print(f"  {where}: {reason}")
            if result.more_problems:
                print(f"  ... and {result.more_problems} more")
    return 0 if result.ok else 1
