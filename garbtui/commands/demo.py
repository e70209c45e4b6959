"""`garbtui demo`: a fresh copy of the sample workspace in a user data folder, opened in the app."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import time
from pathlib import Path

from garbtui.sample import copy_sample

NAME = "demo"
HELP = "open a fresh copy of the sample workspace in the terminal app"
DESCRIPTION = """\
Copy the sample workspace shipped with garbtui (real TACO photos and their crops) into a new folder
(default: a fresh folder under the user data directory; --dir to choose) and open it, so the
repository copy is never changed. The folder is kept afterwards; its path is printed.
Copies in the default folder are pruned to the newest 5; --list shows them, --clean removes them all.
exit codes: 0 ok, 2 the sample data is missing, 3 workspace problem.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from garbtui.commands.open import add_protocol_argument

    parser.add_argument("--dir", type=Path, default=None, help="where to put the copy (must not exist yet)")
    parser.add_argument("--no-open", action="store_true", help="only make the copy and print its path")
    parser.add_argument("--keep", type=int, default=KEEP, metavar="N",
                        help=f"copies to keep in the default folder, the new one included (default {KEEP})")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--list", action="store_true", help="list the demo copies in the default folder and exit")
    what.add_argument("--clean", action="store_true", help="remove every demo copy in the default folder and exit")
    add_protocol_argument(parser)


KEEP = 5
_COPY_NAME = re.compile(r"^\d{8}-\d{6}(-\d+)?$")


def demo_base() -> Path:
    """The default folder of demo copies (under the user data folder; GARBTUI_DEMO_DIR overrides it)."""
    if os.environ.get("GARBTUI_DEMO_DIR"):
        return Path(os.environ["GARBTUI_DEMO_DIR"])
    from platformdirs import user_data_dir

    return Path(user_data_dir("garbtui", appauthor=False)) / "demo"


def demo_copies(base: Path | None = None) -> list[Path]:
    """The demo copies garbtui made in `base`, oldest first (only its own timestamped workspace folders)."""
    base = base or demo_base()
    if not base.is_dir():
        return []
    copies = [p for p in base.iterdir()
              if _COPY_NAME.match(p.name) and p.is_dir() and not p.is_symlink() and (p / "workspace.json").is_file()]
    return sorted(copies, key=lambda p: (p.name[:15], int(p.name[16:] or 0)))


def prune_copies(keep: int, base: Path | None = None) -> list[Path]:
    """Remove all but the newest `keep` demo copies; returns the removed folders."""
    copies = demo_copies(base)
    doomed = copies[: max(0, len(copies) - max(keep, 0))]
    for folder in doomed:
        shutil.rmtree(folder, ignore_errors=True)
    return doomed


def make_copy(target: Path | None = None) -> Path:
    """Copy the sample workspace to `target` (or a new timestamped folder in demo_base()) and return its path."""
    return copy_sample(target if target is not None else _new_copy_path(demo_base()))


def _new_copy_path(base: Path) -> Path:
    """A timestamped folder name in `base` that sorts after every copy made before it.

    Several copies in one second get -1, -2...: always one more than the highest so far, never a number a
    pruned copy freed (the newest copy would otherwise sort, and be pruned, as the oldest).
    """
    stamp = time.strftime("%Y%m%d-%H%M%S")
    taken = [p.name for p in base.iterdir() if p.name == stamp or p.name.startswith(f"{stamp}-")] if base.is_dir() else []
    if not taken:
        return base / stamp
    highest = max(int(name[16:]) if name[16:].isdigit() else 0 for name in taken)
    return base / f"{stamp}-{highest + 1}"


def run(args: argparse.Namespace) -> int:
    if args.list:
        copies = demo_copies()
        print(f"demo copies in {demo_base()}: {len(copies)}")
        for folder in copies:
            print(f"  {folder}")
        return 0
    if args.clean:
        removed = prune_copies(0)
        print(f"removed {len(removed)} demo cop{'y' if len(removed) == 1 else 'ies'} from {demo_base()}")
        return 0
    target = make_copy(args.dir)
    print(f"demo workspace: {target}")
    if args.dir is None:
        removed = prune_copies(args.keep)
        if removed:
            print(f"removed {len(removed)} older demo cop{'y' if len(removed) == 1 else 'ies'} "
                  f"(keeping the newest {args.keep}; `garbtui demo --list` shows them)")
    if args.no_open:
        return 0
    from garbtui.commands.open import launch

    return launch(target, args.image_protocol, args.theme)
