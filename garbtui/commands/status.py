"""`garbtui status`: counts of images, crops pending / done, backgrounds and scenes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from garbtui.core.errors import WorkspaceError
from garbtui.core.workspace.store import Workspace

NAME = "status"
HELP = "show what a workspace holds (and, with --check, every broken item)"
DESCRIPTION = """\
Print counts of images, crops (pending = no proc.png yet, done, broken), backgrounds and scenes.
With --check every file is read and validated, and each broken item is listed with the reason.
exit codes: 0 ok, 1 --check found broken items, 3 not a workspace (a generated dataset is refused:
check it with `garbtui dataset check DIR`).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-w", "--workspace", default=".", help="workspace folder (default: current folder)")
    parser.add_argument("--check", action="store_true", help="read every file and list broken items")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def run(args: argparse.Namespace) -> int:
    from garbtui.core.export.check import is_dataset

    if is_dataset(Path(args.workspace)):
        raise WorkspaceError("is a dataset written by `garbtui generate`, not a workspace; check it with "
                             f"`garbtui dataset check {args.workspace}`", where=str(args.workspace))
    ws = Workspace.open(args.workspace)
    counts = ws.status()
    problems: list[tuple[str, str]] = []
    if args.check:
        from garbtui.core.workspace.check import check_workspace

        problems = check_workspace(ws)
    if args.json:
        payload = {
            "workspace": str(ws.root),
            "images": counts.images,
            "crops": {"pending": counts.crops_pending, "done": counts.crops_done, "broken": counts.crops_broken},
            "backgrounds": counts.backgrounds,
            "scenes": counts.scenes,
        }
        if args.check:
            payload["problems"] = [{"item": item, "reason": reason} for item, reason in problems]
        print(json.dumps(payload, indent=2))
    else:
        print(f"workspace    {ws.root}")
        print(f"images       {counts.images}")
        print(f"crops        {counts.crops}  ({counts.crops_pending} pending, {counts.crops_done} done"
              f"{f', {counts.crops_broken} broken' if counts.crops_broken else ''})")
        print(f"backgrounds  {counts.backgrounds}")
        print(f"scenes       {counts.scenes}")
        if args.check:
            if problems:
                print(f"\n{len(problems)} problem(s):")
                for item, reason in problems:
                    print(f"  {item}: {reason}")
            else:
                print("\ncheck: every file is readable and valid")
    return 1 if problems else 0
