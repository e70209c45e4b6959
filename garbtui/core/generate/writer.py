"""Writes finished images from a few threads, so fsync waits overlap with rendering instead of adding to it.

Every image is still written as image -> label -> record (the commit marker), each file atomically and
fsynced (atomic.py); only different images are written concurrently. The backlog is bounded, so memory
stays flat however fast the renderers are.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from types import TracebackType

from garbtui.core.generate.render import ImageOutputs, write_outputs

WRITER_THREADS = 4
MAX_BACKLOG = 32


class OutputWriter:
    """A bounded pool of writer threads; `tick(name)` is called once per image, after its record is written."""

    def __init__(self, out_dir: Path, tick: Callable[[str], None], threads: int = WRITER_THREADS) -> None:
        self.out_dir = Path(out_dir)
        self.tick = tick
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="garbtui-write")
        self._pending: set[Future[None]] = set()
        self._lock = threading.Lock()  # ticks come from several threads; keep them ordered and counted once

    def _write(self, outputs: ImageOutputs) -> None:
        write_outputs(self.out_dir, outputs)
        with self._lock:
            self.tick(outputs.name)

    def put(self, outputs: ImageOutputs) -> None:
        """Queue one image; blocks while the backlog is full. Re-raises the first write error."""
        if len(self._pending) >= MAX_BACKLOG:
            done, self._pending = wait(self._pending, return_when=FIRST_COMPLETED)
            for fut in done:
                fut.result()
        self._pending.add(self._pool.submit(self._write, outputs))

    def flush(self) -> None:
        """Wait until every queued image is on disk."""
        for fut in list(self._pending):
            fut.result()
        self._pending.clear()

    def __enter__(self) -> OutputWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if exc_type is None:
                self.flush()
        finally:
            # On an error or interrupt the queued writes still finish: each is complete or absent, never half.
            self._pool.shutdown(wait=True, cancel_futures=exc_type is not None)
