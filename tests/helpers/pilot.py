"""Waiting for the app in Pilot tests: for a condition, or until everything it started is done."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot


async def wait_for(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Let the app run until `condition()` holds (thread workers finish in their own time)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.02)


async def settled(pilot: Pilot[Any], timeout: float = 20.0) -> None:
    """Let the app finish everything it started: every worker done, every message handled.

    For tests that assert something did NOT happen: a fixed pause may end before a slow worker does,
    and then the test passes for the wrong reason.
    """
    app = pilot.app
    deadline = time.monotonic() + timeout
    while True:
        await pilot.pause()  # handle what is queued (a handler may start another worker)
        busy = [worker for worker in app.workers if not worker.is_finished]
        if not busy:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for workers: {[w.name for w in busy]}")
        # Worker.wait raises when a worker failed or was cancelled; a failure is the test's to find, not ours.
        await asyncio.wait_for(asyncio.gather(*(w.wait() for w in busy), return_exceptions=True),
                               max(0.01, deadline - time.monotonic()))
