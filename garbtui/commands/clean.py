"""`garbtui clean`: the automatic k-means cutout of pending crops (or named ones), in parallel workers."""

from __future__ import annotations

import argparse
import os
import sys

from garbtui.commands.progress import progress_bar
from garbtui.core.cleanup import CleanOutcome, auto_recipe, clean_crops
from garbtui.core.errors import Interrupted
from garbtui.core.text import printable
from garbtui.core.workspace.atomic import sweep_temp_files
from garbtui.core.workspace.models import CleanupRecipe
from garbtui.core.workspace.store import Workspace

MAX_WORKERS = 32  # threads; more only compete for the same cores and memory
NAME = "clean"
HELP = "automatic k-means cutout (proc.png) of pending crops"
# Core parameters whose flag here is not `--` + the name (errors name core's parameter; cli.py maps it).
FIELD_FLAGS = {"k": "-k", "refine": "--no-refine"}
DESCRIPTION = """\
Make proc.png, an RGBA cutout, for every pending crop (no proc.png yet) or for the crops named.
Each crop's pixels are clustered with k-means (Lab colour by default); the clusters that are object
are chosen from the crop's priors (the margin is background, the annotated box / polygon / brush
says where the object is); the mask is cleaned and its edge refined with GrabCut, then feathered.
The recipe is stored in the crop's meta.json, so `--replay` or the TUI can remake it exactly.
`--force` redoes crops that already have proc.png; the old one is kept as proc.bak-<time>.png.
Every cutout gets a confidence (0..1, in meta.json as `quality`); a low one marks it suspect, with
the reasons (e.g. "colours hardly differ from the surroundings"). Suspects are named on stderr, listed
first in the app's queue, and left out by `generate` / `recreate` until a person saves them in the app.

Two `garbtui clean` runs on one workspace share the work: a crop one of them is cleaning is left to it.
Ctrl-C stops once the crops being cleaned are saved (exit 130): run the same command again to resume.
exit codes: 0 ok, 1 some crops failed (the others were done), 2 bad arguments, 3 not a workspace,
130 interrupted.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("crop_ids", nargs="*", metavar="CROP_ID", help="crops to clean (default: every pending crop)")
    parser.add_argument("-w", "--workspace", default=".", help="workspace folder (default: current folder)")
    parser.add_argument("--force", action="store_true", help="redo crops that already have proc.png (keeps a backup)")
    parser.add_argument("--workers", type=int, default=0, help="parallel workers (default: number of CPUs)")
    parser.add_argument("-k", "--clusters", type=int, default=None, metavar="K",
                        help="k-means clusters, 2..9 (default 6)")
    parser.add_argument("--color-space", choices=("lab", "rgb", "hsv"), default=None,
                        help="clustering colour space (default lab)")
    parser.add_argument("--position-weight", type=float, default=None, metavar="W",
                        help="weight of pixel position in clustering (default 0)")
    parser.add_argument("--no-refine", action="store_true", help="keep the raw cluster mask (no GrabCut edge refinement)")
    parser.add_argument("--feather", type=int, default=None, metavar="PX",
                        help="soft alpha edge width in pixels, 0..16 (default 1)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    parser.add_argument("--replay", action="store_true", help="reuse the recipe stored in each crop's meta.json when it has one")


def _recipe(args: argparse.Namespace) -> CleanupRecipe:
    from pydantic import ValidationError

    from garbtui.core.errors import InputError

    overrides: dict[str, object] = {}
    if args.clusters is not None:
        overrides["k"] = args.clusters
    if args.color_space is not None:
        overrides["color_space"] = args.color_space
    if args.position_weight is not None:
        overrides["position_weight"] = args.position_weight
    if args.no_refine:
        overrides["refine"] = False
    if args.feather is not None:
        overrides["feather"] = args.feather
    if args.seed is not None:
        overrides["seed"] = args.seed
    try:
        return auto_recipe(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        flag = FIELD_FLAGS.get(field, "--" + field.replace("_", "-")) if field else "recipe"
        raise InputError(f"{flag}: {first['msg']}") from None


def run(args: argparse.Namespace) -> int:
    from garbtui.core.errors import InputError

    recipe = _recipe(args)
    if args.workers < 0:
        raise InputError("--workers must be 0 (one per CPU) or more")
    ws = Workspace.open(args.workspace)
    sweep_temp_files(ws.root, ("crops",))  # half-written files of a killed earlier run (their writer is gone)
    if args.crop_ids:
        crop_ids = list(dict.fromkeys(args.crop_ids))
    elif args.force:
        crop_ids = [c for c in ws.crop_ids() if ws.crop_status(c) != "broken"]
    else:
        crop_ids = ws.pending_crop_ids()
    if not crop_ids:
        print("nothing to clean: no pending crops (use --force to redo done ones)")
        return 0
    workers = args.workers or min(os.cpu_count() or 1, 8)
    if workers > MAX_WORKERS:
        print(f"garbtui: note: --workers {workers} is more threads than cleaning can use; using {MAX_WORKERS}",
              file=sys.stderr)
        workers = MAX_WORKERS
    pending_only = not args.crop_ids and not args.force
    try:
        with progress_bar("cleaning") as progress:
            outcomes = clean_crops(ws, crop_ids, recipe, force=args.force, replay=args.replay, workers=workers,
                                   progress=progress, pending_only=pending_only)
    except Interrupted as stopped:
        partial = stopped.partial if isinstance(stopped.partial, list) else []
        _report(partial, len(crop_ids))
        print(f"garbtui: interrupted: every cutout saved is kept; run the same command again to resume "
              f"({len(crop_ids) - len(partial)} crop(s) not done)", file=sys.stderr)
        return 130
    return _report(outcomes, len(crop_ids))


def _report(outcomes: list[CleanOutcome], listed: int) -> int:
    """One line per failure or note (ids and reasons escaped), then the summary; the exit code."""
    failed = [o for o in outcomes if not o.ok]
    by_other = [o for o in outcomes if o.ok and o.by_other]
    done = len(outcomes) - len(failed) - len(by_other)
    replaced = sum(1 for o in outcomes if o.backup is not None)
    for o in outcomes:
        if o.message and not o.by_other:  # failures, and notes on crops that were saved (e.g. over another's)
            print(f"garbtui: crop {printable(o.crop_id)}: {printable(o.message)}", file=sys.stderr)
    suspects = [o for o in outcomes if o.ok and o.suspect]
    for o in suspects:
        why = "; ".join(o.reasons) or "low confidence"
        print(f"garbtui: crop {printable(o.crop_id)}: suspect cutout (confidence {o.score:.2f}: {printable(why)}); "
              "check it in the app", file=sys.stderr)
    note = f", {replaced} earlier proc.png kept as backup" if replaced else ""
    note += f", {len(suspects)} suspect (listed first in the app's queue)" if suspects else ""
    other = f"; {len(by_other)} left to another process cleaning this workspace" if by_other else ""
    print(f"cleaned {done} of {listed} crop(s){note}{other}" + (f"; {len(failed)} failed" if failed else ""))
    return 1 if failed else 0
