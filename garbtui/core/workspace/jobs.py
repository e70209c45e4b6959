"""What every batch step (extract, clean, generate) shares: the progress callback type, the default worker
count, and running items on threads so that Ctrl-C stops the batch promptly without losing finished work."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from garbtui.core.errors import Interrupted

ProgressFn = Callable[[int, int, str], None]
"""Called by a batch step as progress(done, total, note): items finished so far, items in all, and a short
note on the item just finished ("" when there is none). It is called once with done = 0 before the first item."""


def no_progress(done: int, total: int, note: str) -> None:
    """A ProgressFn that does nothing: the default of steps run without a progress display."""


def default_workers(limit: int | None = None) -> int:
    """Workers to use when the caller does not say: one per CPU, at most `limit` when given, at least one."""
    cpus = os.cpu_count() or 1
    return max(1, min(cpus, limit) if limit is not None else cpus)


def run_items[T, R](
    fn: Callable[[T], R],
    items: Sequence[T],
    workers: int,
    on_result: Callable[[T, R], None],
    stop: threading.Event | None = None,
) -> None:
    """Call fn(item) for every item (on `workers` threads when more than one) and on_result(item, result)
    in the calling thread as each finishes.

    Ctrl-C (KeyboardInterrupt in the calling thread) stops the batch: items not started are dropped,
    `stop` is set so long items can end early, the items already running are waited for (their
    results still reach on_result: their files are written whole), then Interrupted(done, total) is
    raised. An exception from fn propagates as it is (fn reports per-item failures in its result).
    """
    total = len(items)
    done = 0
    if workers <= 1 or total <= 1:
        try:
            for item in items:
                if stop is not None and stop.is_set():
                    break
                on_result(item, fn(item))
                done += 1
        except KeyboardInterrupt:
            if stop is not None:
                stop.set()
            raise Interrupted(done, total) from None
        if stop is not None and stop.is_set():
            raise Interrupted(done, total)
        return
    pool = ThreadPoolExecutor(max_workers=workers)
    futures: dict[Future[R], T] = {}
    reported: set[Future[R]] = set()
    try:
        for item in items:
            futures[pool.submit(fn, item)] = item
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                reported.add(future)
                on_result(futures[future], future.result())
                done += 1
    except KeyboardInterrupt:
        if stop is not None:
            stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
        running = [f for f in futures if f not in reported and not f.cancelled()]
        # A second Ctrl-C while these finish is the front end's to handle (garbtui's CLI exits at once).
        wait(running)
        for future in running:
            if not future.cancelled() and future.exception() is None:
                on_result(futures[future], future.result())
                done += 1
        raise Interrupted(done, total) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
