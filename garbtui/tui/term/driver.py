"""Textual's Linux driver with the terminal's answers taken out of the input before the key parser.

Only `run_input_thread` differs from Textual's: every chunk read from the terminal goes through a
`ReplyFilter`, so a late answer to the start-up probe (DA1, XTVERSION, XTSMGRAPHICS, Kitty graphics,
cell size) is dropped instead of being read as key presses, whenever it arrives.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import time
from codecs import getincrementaldecoder
from collections.abc import Callable

from textual import events
from textual._parser import ParseError
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

from garbtui.tui.term.replies import ESCAPE_DELAY, Reply, ReplyFilter

# Every answer the app drops, with the time it arrived (monotonic), for `late_replies()`.
_LATE: list[tuple[float, Reply]] = []
_LISTENERS: list[Callable[[Reply], None]] = []


def late_replies() -> list[tuple[float, Reply]]:
    """Answers the input filter took out since start-up (at most 64)."""
    return list(_LATE)


def on_reply(callback: Callable[[Reply], None]) -> None:
    """Call `callback(reply)` (from the input thread) for every answer dropped from now on."""
    _LISTENERS.append(callback)


def _record(reply: Reply) -> None:
    _LATE.append((time.monotonic(), reply))
    del _LATE[:-64]
    for callback in list(_LISTENERS):
        with contextlib.suppress(Exception):  # a listener must never stop the input thread
            callback(reply)


class FilteringDriver(LinuxDriver):
    """LinuxDriver whose input thread drops terminal answers before the key parser sees them, and
    whose output puts a Sixel picture back right after any frame of Textual's that wrote over it."""

    def write(self, data: str) -> None:
        super().write(data)
        from garbtui.tui.term.graphics import after_frame

        try:
            extra = after_frame(data)
        except Exception:  # a picture must never stop the screen updates
            extra = ""
        if extra:
            super().write(extra)

    def start_application_mode(self) -> None:
        from garbtui.tui.term import probe

        original = probe.held_attrs()
        super().start_application_mode()
        if original is not None:
            # The probe kept echo off so late answers were not echoed; what Textual must restore at
            # exit is the terminal as it was before the probe.
            self.attrs_before = original
            probe.handed_over()

    def run_input_thread(self) -> None:
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        fileno = self.fileno
        parser = XTermParser(self._debug)
        escape_delay = float(os.environ.get("ESCDELAY", "") or ESCAPE_DELAY * 1000) / 1000.0
        replies = ReplyFilter(_record, escape_delay=max(0.001, escape_delay))
        decode = getincrementaldecoder("utf-8")(errors="replace").decode
        monotonic = time.monotonic

        def deliver(text: str) -> None:
            if text:
                for event in parser.feed(text):
                    self.process_message(event)

        def process(selector_events: list, final: bool = False) -> None:
            for _key, mask in selector_events:
                if mask & selectors.EVENT_READ:
                    data = decode(os.read(fileno, 1024 * 4), final=final)
                    if not data:
                        break
                    deliver(replies.feed(data, monotonic()))
            text, escape = replies.expire(monotonic())
            deliver(text)
            if escape:
                self.process_message(events.Key("escape", "\x1b"))
            for event in parser.tick():
                self.process_message(event)

        def timeout() -> float:
            deadline = replies.deadline()
            if deadline is None:
                return 0.1
            return max(0.0, min(0.1, deadline - monotonic()))

        try:
            while not self.exit_event.is_set():
                process(selector.select(timeout()))
            selector.unregister(self.fileno)
            process(selector.select(0.1), final=True)
        finally:
            selector.close()
            try:
                for _event in parser.feed(""):
                    pass
            except (EOFError, ParseError):
                pass
