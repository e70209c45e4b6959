"""A progress bar for long CLI jobs, on stderr, that stays quiet when stderr is not a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

QUIET = False  # set by the CLI for -q: no bar, whatever the command asks


class ProgressFn(Protocol):
    """Called by core jobs: done so far, total, and a short note on the current item."""

    def __call__(self, done: int, total: int, note: str = "") -> None: ...


@contextmanager
def progress_bar(description: str, *, enabled: bool | None = None) -> Iterator[ProgressFn]:
    """Yield a callback that advances a rich progress bar (disabled when stderr is not a TTY)."""
    console = Console(stderr=True)
    if enabled is None:
        enabled = sys.stderr.isatty()
    enabled = enabled and not QUIET
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[note]}", style="dim"),
        console=console,
        disable=not enabled,
        transient=False,
    )
    task = progress.add_task(description, total=None, note="")

    def update(done: int, total: int, note: str = "") -> None:
        progress.update(task, completed=done, total=total, note=note[:40])

    with progress:
        yield update
