"""`garbtui demo`: a fresh copy of the sample workspace in a user data folder, opened in the app."""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

import garbtui
from garbtui.core.errors import InputError, WriteError

NAME = "demo"
HELP = "open a fresh copy of the sample workspace in the terminal app"
DESCRIPTION = """\
Copy the sample workspace shipped with garbtui (real TACO photos and their crops) into a new folder
(default: a fresh folder under the user data directory; --dir to choose) and open it, so the
repository copy is never changed. The folder is kept afterwards; its path is printed.
exit codes: 0 ok, 2 the sample data is missing, 3 workspace problem.
"""


def sample_workspace() -> Path:
    """The repository's sample workspace (installs are editable, so it sits beside the package)."""
    return Path(garbtui.__file__).resolve().parents[1] / "sample_data" / "workspace"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from garbtui.commands.open import add_protocol_argument

    parser.add_argument("--dir", type=Path, default=None, help="where to put the copy (must not exist yet)")
    parser.add_argument("--no-open", action="store_true", help="only make the copy and print its path")
    add_protocol_argument(parser)


def make_copy(target: Path | None = None) -> Path:
    """Copy the sample workspace to `target` (or a new timestamped folder) and return its path."""
    source = sample_workspace()
    if not (source / "workspace.json").is_file():
        raise InputError("the sample workspace is missing from this installation", where=str(source))
    if target is None:
        from platformdirs import user_data_dir

        base = Path(user_data_dir("garbtui", appauthor=False)) / "demo"
        target = base / time.strftime("%Y%m%d-%H%M%S")
        n = 1
        while target.exists():
            target = base / f"{time.strftime('%Y%m%d-%H%M%S')}-{n}"
            n += 1
    target = Path(target)
    if target.exists():
        raise InputError("the demo folder already exists; pick a new one", where=str(target))
    # Copied beside the target and renamed into place: a killed copy never leaves half a workspace.
    # Lock files are per-machine state, not sample data.
    partial = target.parent / f".{target.name}.{os.getpid()}.partial"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source, partial, ignore=shutil.ignore_patterns(".lock", "*.tmp"))
        os.rename(partial, target)
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise WriteError(f"cannot make the demo workspace: {exc.strerror or exc}", where=str(target)) from None
    return target


def run(args: argparse.Namespace) -> int:
    target = make_copy(args.dir)
    print(f"demo workspace: {target}")
    if args.no_open:
        return 0
    from garbtui.commands.open import launch

    return launch(target, args.image_protocol, args.theme)
