"""The command line: parses arguments, calls core or starts the app, turns errors into exit codes."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import NoReturn

from garbtui import __version__
from garbtui.commands import (
    background,
    clean,
    dataset,
    demo,
    doctor,
    extract,
    generate,
    recreate,
    render,
    segment,
    status,
)
from garbtui.commands import open as open_command  # `open` would hide the builtin
from garbtui.core.errors import GarbError
from garbtui.core.text import printable

# Exit codes: 0 ok; 1 finished but some items failed; 2 bad input or usage; 3 workspace problem;
# 130 interrupted. Each command module documents its own use of them.
EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_INPUT = 2
EXIT_WORKSPACE = 3
EXIT_INTERRUPTED = 130

# One module per command in garbtui/commands/, each with NAME, HELP, add_arguments(parser), run(args),
# and optionally DESCRIPTION and FIELD_FLAGS (core parameter name -> this command's flag, where the
# flag is not simply `--` + the name with `-` for `_`).
COMMANDS: tuple[ModuleType, ...] = (
    extract, status, clean, open_command, demo, doctor, background, segment, render, recreate, generate, dataset,
)

DESCRIPTION = """\
garbtui turns annotated litter photos into clean garbage fragments and composes them onto clean
photos as labelled synthetic training data.

workflow:
  garbtui extract EXPORT.json -w WS      cut one crop per annotated object (Label Studio or COCO)
  garbtui clean -w WS                    automatic k-means cutout of every pending crop
  garbtui open WS                        curate crops, place fragments, preview composites (TUI)
  garbtui background add PHOTO -w WS     add a clean photo to paste onto
  garbtui segment -w WS                  mark where litter may lie on it (road, pavement, grass, ground)
  garbtui recreate / generate -w WS      rebuild a reference layout, or make a dataset in batch

exit codes: 0 ok, 1 some items failed (the rest was done), 2 bad input, 3 workspace problem, 130 interrupted.
"""


@dataclass(frozen=True)
class FlagNames:
    """How one command names core's parameters on its command line (errors name `field`s in core terms)."""

    explicit: Mapping[str, str] = field(default_factory=dict)  # the module's FIELD_FLAGS
    options: Collection[str] = frozenset()  # every flag the command (and its sub-commands) accepts

    def flag_for(self, name: str) -> str | None:
        """The flag that sets core's parameter `name`: FIELD_FLAGS first, else `--name-with-dashes` when the
        command has it; None when no flag of this command sets it (a value read from a file, say)."""
        if name in self.explicit:
            return self.explicit[name]
        flag = "--" + name.replace("_", "-")
        return flag if flag in self.options else None


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose usage errors escape what the user typed (an argument holding ESC or a
    newline is shown as \\x1b, \\n: it cannot drive the terminal). Sub-command parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        super().error(printable(message))


def error_text(exc: GarbError, flags: FlagNames) -> str:
    """The error as the user of this command reads it: the flag it concerns first, when it has one."""
    name = getattr(exc, "field", None)  # core errors name the parameter they concern (GarbError.field)
    flag = flags.flag_for(name) if isinstance(name, str) and name else None
    return f"{flag}: {exc}" if flag else str(exc)


def _option_strings(parser: argparse.ArgumentParser) -> set[str]:
    """Every flag (-k, --count) of `parser` and of its sub-commands."""
    found: set[str] = set()
    # argparse lists a parser's arguments only in the private `_actions` (unchanged since Python 2.7).
    for action in parser._actions:
        found.update(action.option_strings)
        if isinstance(action.choices, dict):  # sub-commands, e.g. `background add`
            for sub in action.choices.values():
                if isinstance(sub, argparse.ArgumentParser):
                    found |= _option_strings(sub)
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="garbtui", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"garbtui {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        cmd = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(cmd)
        flags = FlagNames(getattr(module, "FIELD_FLAGS", {}), frozenset(_option_strings(cmd)))
        cmd.set_defaults(_run=module.run, _flags=flags)
    return parser


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
    arguments are read is `interrupted`, not a traceback) to the end (a press while the process exits
    only ends it sooner); called with argv (tests, scripts) the caller's handler is restored."""
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
        # Paths and names in the message come from outside: escaped, one line, no terminal sequences.
        print(f"garbtui: error: {printable(error_text(exc, args._flags))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("garbtui: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
