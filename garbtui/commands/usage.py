"""Shared command-line parsing: usage errors with did-you-mean, and -q/-v on every command."""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from typing import NoReturn

from garbtui.core.text import printable

EXIT_USAGE = 2  # bad input or usage (garbtui.cli's EXIT_INPUT)

_UNRECOGNIZED = re.compile(r"unrecognized arguments: (.*)")
_INVALID_CHOICE = re.compile(r"argument (\S+): invalid choice: '([^']*)'")


def _choices(parser: argparse.ArgumentParser, name: str) -> list[str]:
    """The choices of the argument argparse calls `name` in a message (its METAVAR, dest or flags)."""
    # argparse lists a parser's arguments only in the private `_actions` (unchanged since Python 2.7).
    for action in parser._actions:
        names = {"/".join(action.option_strings), action.dest, str(action.metavar or "")}
        if name in names and action.choices:
            return [str(c) for c in action.choices]
    return []


def flags_of(parser: argparse.ArgumentParser) -> list[str]:
    """Every flag of this parser itself (not of its sub-commands)."""
    return [flag for action in parser._actions for flag in action.option_strings if flag not in ("-h", "--help")]


def close_matches(word: str, candidates: list[str]) -> list[str]:
    """Up to three candidates that look like `word` (a typo, a missing letter, `_` for `-`)."""
    word = word.split("=", 1)[0]
    wanted = word.replace("_", "-")
    return difflib.get_close_matches(wanted, candidates, n=3, cutoff=0.75)


def suggestions(parser: argparse.ArgumentParser, message: str) -> list[str]:
    """"did you mean" lines for an argparse error message of `parser`."""
    lines: list[str] = []
    if m := _UNRECOGNIZED.search(message):
        for token in m.group(1).split():
            if not token.startswith("-"):
                continue
            matches = close_matches(token, flags_of(parser))
            if matches:
                lines.append(f"{token.split('=', 1)[0]}: did you mean {' or '.join(matches)}?")
    elif m := _INVALID_CHOICE.search(message):
        matches = close_matches(m.group(2), _choices(parser, m.group(1)))
        if matches:
            lines.append(f"{m.group(2)}: did you mean {' or '.join(matches)}?")
    return lines


class GarbParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors show this (sub-)command's usage, close matches and where to read more."""

    def error(self, message: str) -> NoReturn:
        # What the user typed is escaped: an argument holding ESC or a newline cannot drive the terminal.
        message = printable(message)
        self.print_usage(sys.stderr)
        hints = "".join(f"{self.prog}: {line}\n" for line in suggestions(self, message))
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n{hints}(`{self.prog} --help` lists every option)\n")


def leaf_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """`parser` itself, or, when it has sub-commands (`background add|list|horizon`), each of them."""
    leaves: list[argparse.ArgumentParser] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # aliases map to the same parser
                leaves.extend(leaf_parsers(sub))
    return leaves or [parser]


def add_output_flags(parser: argparse.ArgumentParser) -> None:
    """-q/--quiet and -v/--verbose, unless the command defines its own; records that the CLI silences it."""
    own = set(flags_of(parser))
    if "--quiet" not in own and "-q" not in own:
        parser.add_argument("-q", "--quiet", action="store_true",
                            help="print nothing but warnings and errors (no progress bar)")
        parser.set_defaults(_quiet_by_cli=True)
    if "--verbose" not in own and "-v" not in own:
        parser.add_argument("-v", "--verbose", action="store_true",
                            help="also print details: the full traceback of an error, debug notes")
    parser.set_defaults(_parser=parser)
