"""Terminal replies versus key presses: one tokenizer that takes answers out of the input stream.

A terminal answers queries (primary DA, XTVERSION, XTSMGRAPHICS, Kitty graphics, cell size...) on the
same stream that carries key presses. Textual's key parser does not know these answers: a late one is
split into characters and read as keys (`?` opened help, digits went into a number field). The
`ReplyFilter` sits in front of the parser and removes every answer, whenever it arrives:

- complete escape sequences that are answers are dropped (and reported to a callback);
- everything else is passed through unchanged and in order, including the answers Textual itself
  asks for and understands (DECRPM `CSI ? 2026 ; 2 $ y`, in-band resize `CSI 48 ; ... t`, cursor
  position `CSI row ; col R`), mouse reports, bracketed paste and keys;
- an escape sequence cut at the end of a read is held back until its end arrives, so the parser never
  sees half an answer. A lone ESC (the Escape key) is held for Textual's own escape delay and then
  reported as the Escape key; a held answer that never completes is dropped, never typed.

Pure and thread-free: the driver calls `feed()` with each decoded chunk and `expire()` on its ticks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

ESC = "\x1b"
ST = "\x1b\\"
BEL = "\x07"
ESCAPE_DELAY = 0.1  # Textual's default (ESCDELAY): a lone ESC is the Escape key after this long
REPLY_HOLD = 1.5  # seconds an answer cut in two may take to complete before it is dropped
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"
_STRING_INTRODUCERS = "P_]^X"  # DCS, APC, OSC, PM, SOS: strings ended by ST (OSC also by BEL)
_CSI_RE = re.compile(r"\x1b\[([\x30-\x3f]*)([\x20-\x2f]*)([\x40-\x7e])")
_CSI_PARTIAL_RE = re.compile(r"\x1b\[[\x30-\x3f]*[\x20-\x2f]*\Z")


@dataclass(frozen=True)
class Reply:
    """One answer taken out of the input: its kind and its text."""

    kind: str  # da1, da2, da3, xtversion, xtsmgraphics, kitty, cellsize, winsize, decrqss, osc, dsr, kittykbd, string
    text: str


def classify_csi(params: str, intermediates: str, final: str) -> str | None:
    """The kind of answer a complete CSI sequence is, or None when it is input (a key, the mouse) or
    an answer Textual reads itself."""
    lead = params[:1]
    if final == "c" and lead in ("?", ">", "="):
        return {"?": "da1", ">": "da2", "=": "da3"}[lead]
    if final == "S" and lead == "?":
        return "xtsmgraphics"
    if final == "t" and not intermediates:
        first = params.split(";")[0]
        if first == "6":
            return "cellsize"
        if first in ("1", "2", "3", "4", "5", "8", "9"):
            return "winsize"
        return None  # 48;...t is Textual's in-band resize
    if final == "u" and lead == "?":
        return "kittykbd"
    if final == "n" and not intermediates:
        return "dsr"
    if final == "R" and lead == "?":
        return "dsr"  # DECXCPR; a plain CSI row;col R is Textual's cursor position report
    if final == "y" and intermediates == "$" and lead != "?":
        return "decrpm"  # ANSI-mode reports; Textual only asks for private (?) modes
    return None


def classify_string(text: str) -> str:
    """The kind of answer a DCS/APC/OSC/PM/SOS string is (always an answer: keys never send these)."""
    intro = text[1:2]
    if intro == "_":
        return "kitty" if text.startswith("\x1b_G") else "string"
    if intro == "]":
        return "osc"
    if intro == "P":
        body = text[2:]
        if body.startswith(">|"):
            return "xtversion"
        if body.startswith("!|"):
            return "da3"
        if body[1:3] == "$r":
            return "decrqss"
        if body[1:3] == "+r":
            return "xtgettcap"
        return "string"
    return "string"


class ReplyFilter:
    """Splits decoded terminal input into what the key parser should see and the terminal's answers."""

    def __init__(
        self,
        on_reply: Callable[[Reply], None] | None = None,
        *,
        escape_delay: float = ESCAPE_DELAY,
        reply_hold: float = REPLY_HOLD,
    ) -> None:
        self.on_reply = on_reply
        self.escape_delay = escape_delay
        self.reply_hold = reply_hold
        self.pending = ""  # an escape sequence cut at the end of the last chunk
        self.pending_since = 0.0
        self.in_paste = False
        self._paste_tail = ""
        self.dropped: list[Reply] = []  # every answer taken out (kept short: the last 64)

    # -- public -------------------------------------------------------------------------------
    def feed(self, data: str, now: float) -> str:
        """The part of `pending + data` the key parser should get now (answers removed)."""
        if self.pending:
            data = self.pending + data
            since = self.pending_since
            self.pending = ""
        else:
            since = now
        out: list[str] = []
        i = 0
        n = len(data)
        while i < n:
            if self.in_paste:
                end = (self._paste_tail + data[i:]).find(PASTE_END)
                if end < 0:
                    out.append(data[i:])
                    self._paste_tail = (self._paste_tail + data[i:])[-(len(PASTE_END) - 1):]
                    return "".join(out)
                stop = i + end - len(self._paste_tail) + len(PASTE_END)
                out.append(data[i:stop])
                i = stop
                self.in_paste = False
                self._paste_tail = ""
                continue
            j = data.find(ESC, i)
            if j < 0:
                out.append(data[i:])
                break
            if j > i:
                out.append(data[i:j])
            seq_end, kind = self._sequence(data, j)
            if seq_end is None:  # cut off: hold it until the rest arrives (or it expires)
                self.pending = data[j:]
                self.pending_since = since if j == 0 else now
                break
            seq = data[j:seq_end]
            if kind is None:
                out.append(seq)
                if seq == PASTE_START:
                    self.in_paste = True
                    self._paste_tail = ""
            else:
                self._dropped(Reply(kind, seq))
            i = seq_end
        return "".join(out)

    def deadline(self) -> float | None:
        """When the held sequence (if any) must be resolved by `expire`."""
        if not self.pending:
            return None
        return self.pending_since + (self.escape_delay if self._key_like(self.pending) else self.reply_hold)

    def expire(self, now: float) -> tuple[str, bool]:
        """Resolve a held sequence whose time is up: (text for the parser, True when it was a lone ESC,
        i.e. the Escape key). A held answer is dropped."""
        deadline = self.deadline()
        if deadline is None or now < deadline:
            return "", False
        held, self.pending = self.pending, ""
        if held == ESC:
            return "", True
        if self._key_like(held):
            return held, False  # e.g. alt+[ or a key sequence the terminal never finished
        self._dropped(Reply("partial", held))
        return "", False

    # -- internals ----------------------------------------------------------------------------
    def _dropped(self, reply: Reply) -> None:
        self.dropped.append(reply)
        del self.dropped[:-64]
        if self.on_reply is not None:
            self.on_reply(reply)

    @staticmethod
    def _key_like(held: str) -> bool:
        """A held prefix that a key could have started (so it is passed on, not dropped, on time-out)."""
        if len(held) <= 2:
            return True  # ESC, ESC [, ESC O, ESC P (alt+shift+p) ...
        if held[1] == "[":
            return held[2:3] not in ("?", ">", "=")  # CSI ? / > / = only ever start answers
        return False  # a DCS/APC/OSC string with content

    def _sequence(self, data: str, j: int) -> tuple[int | None, str | None]:
        """(end, kind) of the escape sequence at data[j]; end None when data ends inside it."""
        n = len(data)
        if j + 1 >= n:
            return None, None
        intro = data[j + 1]
        if intro == "[":
            m = _CSI_RE.match(data, j)
            if m is None:
                if _CSI_PARTIAL_RE.match(data, j):
                    return None, None
                return j + 2, None  # not a well-formed CSI: let the parser have ESC [ as it is
            if data[m.end() - 1] == "M" and m.group(1) == "" and m.group(2) == "":
                # X10 mouse: three raw bytes follow ESC [ M
                return (m.end() + 3 if m.end() + 3 <= n else None), None
            return m.end(), classify_csi(m.group(1), m.group(2), m.group(3))
        if intro in _STRING_INTRODUCERS:
            k = j + 2
            while True:
                e = data.find(ESC, k)
                b = data.find(BEL, k) if intro == "]" else -1
                if b >= 0 and (e < 0 or b < e):
                    end = b + 1
                    break
                if e < 0:
                    return None, None
                if e + 1 >= n:
                    return None, None
                if data[e + 1] == "\\":
                    end = e + 2
                    break
                # ESC inside a string that is not ST: the string ended there (ECMA-48); drop it.
                end = e
                break
            text = data[j:end]
            return end, classify_string(text)
        if intro == "O":
            return (j + 3 if j + 2 < n else None), None  # SS3 key (F1-F4, keypad)
        if intro == ESC:
            return j + 1, None  # ESC ESC: the first is a key of its own
        return j + 2, None  # alt+key
