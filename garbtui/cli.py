"""The command line: parses arguments, calls core or starts the app, turns errors into exit codes."""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
from collections.abc import Sequence

from garbtui import __version__
from garbtui.core.errors import GarbError

# Exit codes: 0 ok; 1 finished but some items failed; 2 bad input or usage; 3 workspace problem;
# 130 interrupted. Each command module documents its own use of them.
EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_INPUT = 2
EXIT_WORKSPACE = 3
EXIT_INTERRUPTED = 130

# One module per command in garbtui/commands/, each with NAME, HELP, add_arguments(parser), run(args).
COMMANDS = (
    "extract",
    "status",
    "clean",
    "open",
    "demo",
    "doctor",
    "background",
    "render",
    "recreate",
    "generate",
)

DESCRIPTION = """\
garbtui turns annotated litter photos into clean garbage fragments and composes them onto clean
photos as labelled synthetic training data.

workflow:
  garbtui extract EXPORT.json -w WS      cut one crop per annotated object (Label Studio or COCO)
  garbtui clean -w WS                    automatic k-means cutout of every pending crop
  garbtui open WS                        curate crops, place fragments, preview composites (TUI)
  garbtui background add PHOTO -w WS     add a clean photo to paste onto
  garbtui recreate / generate -w WS      rebuild a reference layout, or make a dataset in batch

exit codes: 0 ok, 1 some items failed (the rest was done), 2 bad input, 3 workspace problem, 130 interrupted.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="garbtui", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"garbtui {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = _command_module(name)
        if module is None:
            continue
        cmd = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def _command_module(name: str):  # noqa: ANN202 - a module object
    try:
        return importlib.import_module(f"garbtui.commands.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"garbtui.commands.{name}":
            return None
        raise


class _Interrupts:
    """SIGINT while a command runs: the first press raises KeyboardInterrupt (the command keeps what it
    finished and exits 130); a second, while that is under way, exits 130 at once. Every file garbtui
    writes is renamed into place whole, so what is on disk stays consistent (a half-written temporary
    file is swept by the next run)."""

    presses = 0

    @classmethod
    def handler(cls, signum: int, frame: object) -> None:
        cls.presses += 1
        if cls.presses > 1:
            os.write(2, b"\ngarbtui: interrupted again: stopped at once (files already written are whole)\n")
            os._exit(EXIT_INTERRUPTED)
        raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Called as the program (argv None), Ctrl-C is handled from the start (a press while
    the command modules load is `interrupted`, not a traceback) to the end (a press while the process
    exits only ends it sooner); called with argv (tests, scripts) the caller's handler is restored."""
    previous = None
    if threading.current_thread() is threading.main_thread():
        _Interrupts.presses = 0
        previous = signal.signal(signal.SIGINT, _Interrupts.handler)
    code = EXIT_INTERRUPTED
    try:
        code = _main(argv)
    except KeyboardInterrupt:
        print("garbtui: interrupted", file=sys.stderr)
    finally:
        if previous is not None:
            if argv is not None:
                signal.signal(signal.SIGINT, previous)
            else:
                signal.signal(signal.SIGINT, lambda signum, frame: os._exit(code))
    return code


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return EXIT_INPUT
    try:
        return int(args._run(args) or 0)
    except GarbError as exc:
        print(f"garbtui: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("garbtui: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
