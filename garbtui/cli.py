"""The command line: parses arguments, calls core or starts the app, turns errors into exit codes."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType

from garbtui import __version__
from garbtui.commands import (
    background,
    clean,
    dataset,
    demo,
    doctor,
    extract,
    generate,
    progress,
    recreate,
    render,
    segment,
    status,
)
from garbtui.commands import open as open_command  # `open` would hide the builtin
from garbtui.commands.usage import GarbParser, add_output_flags, close_matches, leaf_parsers
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
Every command takes -q (only warnings and errors) and -v (details, and the traceback of an error).
"""

# Printed after Ctrl-C: every command writes each file whole (or not at all), and a re-run skips what is done.
INTERRUPTED = "garbtui: interrupted; nothing half-written was kept: run the same command again to resume"


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
    parser = GarbParser(
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
        for leaf in leaf_parsers(cmd):
            add_output_flags(leaf)
        flags = FlagNames(getattr(module, "FIELD_FLAGS", {}), frozenset(_option_strings(cmd)))
        cmd.set_defaults(_run=module.run, _flags=flags)
    return parser


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse, and report unknown arguments with the usage of the (sub-)command they were given to."""
    args, extras = parser.parse_known_args(argv)
    if extras:
        owner: argparse.ArgumentParser = getattr(args, "_parser", parser)
        owner.error(f"unrecognized arguments: {' '.join(extras)}")
    return args


def _configure_output(args: argparse.Namespace) -> None:
    """-v: debug notes of garbtui's loggers on stderr; -q: no progress bars."""
    if getattr(args, "verbose", False):
        logging.basicConfig(level=logging.WARNING, format="garbtui: %(levelname)s: %(name)s: %(message)s")
        logging.getLogger("garbtui").setLevel(logging.DEBUG)
    progress.QUIET = bool(getattr(args, "quiet", False))


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
    args = _parse(parser, argv)
    if not getattr(args, "_run", None):
        if getattr(args, "command", None) is None and argv:
            words = [a for a in argv if not a.startswith("-")]
            if words:  # parse_known_args would have refused an unknown COMMAND: only options were given
                hint = close_matches(words[0], [m.NAME for m in COMMANDS])
                if hint:
                    print(f"garbtui: did you mean {' or '.join(hint)}?", file=sys.stderr)
        parser.print_help()
        return EXIT_INPUT
    _configure_output(args)
    verbose = bool(getattr(args, "verbose", False))
    try:
        # Commands without their own -q print only what matters on stdout; -q drops it (stderr stays).
        with contextlib.ExitStack() as stack:
            if args.quiet and getattr(args, "_quiet_by_cli", False):
                stack.enter_context(contextlib.redirect_stdout(stack.enter_context(open(os.devnull, "w"))))
            return int(args._run(args) or 0)
    except GarbError as exc:
        if verbose:
            traceback.print_exc(file=sys.stderr)
        # Paths and names in the message come from outside: escaped, one line, no terminal sequences.
        print(f"garbtui: error: {printable(error_text(exc, args._flags))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    finally:
        progress.QUIET = False


if __name__ == "__main__":
    raise SystemExit(main())
