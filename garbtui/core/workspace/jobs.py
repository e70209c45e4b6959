"""What every batch step (extract, clean, generate) shares: the progress callback type and the default worker count."""

from __future__ import annotations

import os
from collections.abc import Callable

ProgressFn = Callable[[int, int, str], None]
"""Called by a batch step as progress(done, total, note): items finished so far, items in all, and a short
note on the item just finished ("" when there is none). It is called once with done = 0 before the first item."""


def no_progress(done: int, total: int, note: str) -> None:
    """A ProgressFn that does nothing: the default of steps run without a progress display."""


def default_workers(limit: int | None = None) -> int:
    """Workers to use when the caller does not say: one per CPU, at most `limit` when given, at least one."""
    cpus = os.cpu_count() or 1
    return max(1, min(cpus, limit) if limit is not None else cpus)
