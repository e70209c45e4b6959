"""Text from outside (exports, file names, workspace files) made safe to print, draw and store.

One rule, used by the CLI, the TUI and the extractor alike: a character that is not printable
(`str.isprintable()` is False: C0/C1 controls such as newline and ESC, DEL, format characters such as
the bidi overrides, line/paragraph separators, lone UTF-16 surrogates, unassigned code points) is
never written to a terminal as itself. `printable()` escapes it (`\\n`, `\\x1b`, `\\u202e`), so a name
cannot forge an output line, move the cursor, set the window title or clear the screen, and two
different names never print alike. `clean_label()` decides what a class label may be: the same
characters are removed (whitespace ones become a space), because a label ends up as one line of
`classes.txt` and as a YOLO class id.
"""

from __future__ import annotations

import re

# Longest class label kept; longer ones are refused at extract (a label is a class name, not a text).
MAX_LABEL_CHARS = 200
_WHITESPACE_CONTROLS = "\t\n\r\v\f\x1c\x1d\x1e\x1f\x85\u2028\u2029"
_SPACES = re.compile(r"\s+")


def _escape(char: str) -> str:
    code = ord(char)
    if char == "\n":
        return "\\n"
    if char == "\r":
        return "\\r"
    if char == "\t":
        return "\\t"
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(value: object) -> str:
    """`value` as text that is safe on a terminal: every non-printable character escaped (see module doc)."""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():  # the common case, checked in C
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def label_problem(value: str) -> str:
    """Why `value` cannot be a class label ("" when it can): control characters, blank, or too long.

    What a workspace file may hold; extract also trims the ends (clean_label)."""
    if not value.isprintable():
        return "has control or other non-printable characters"
    if not value.strip():
        return "is empty"
    if len(value) > MAX_LABEL_CHARS:
        return f"is longer than {MAX_LABEL_CHARS} characters"
    return ""


def clean_label(value: str) -> str:
    """A label with control characters removed: whitespace controls (newline, tab...) become one space,
    other non-printable characters (ESC, bidi overrides, lone surrogates...) are dropped, runs of
    spaces collapse, the ends are trimmed. May return "" (the caller refuses an empty label)."""
    if value.isprintable() and value == value.strip():
        return value
    kept = "".join(" " if c in _WHITESPACE_CONTROLS else c for c in value if c.isprintable() or c in _WHITESPACE_CONTROLS)
    return _SPACES.sub(" ", kept).strip()
