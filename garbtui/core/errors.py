"""The error types garbtui raises on purpose; anything else is a bug."""

from __future__ import annotations


class GarbError(Exception):
    """Base of every error garbtui reports to the user as one clear line.

    `where` is the file or item the error is about. `field` names the parameter at fault in core's own
    terms (the argument name of the core function: "count", "out_dir", "horizon"...), so a front end can
    point at its own control for it (a CLI flag, a form field) without parsing `message`; `message`
    therefore never names a CLI flag. str() is "where: message", as before.
    """

    exit_code = 1

    def __init__(self, message: str, *, where: str | None = None, field: str | None = None) -> None:
        self.message = message
        self.where = where
        self.field = field
        super().__init__(f"{where}: {message}" if where else message)


class InputError(GarbError):
    """The user's input (export, image, argument) cannot be used."""

    exit_code = 2


class WorkspaceError(GarbError):
    """The workspace is missing, malformed or would be escaped."""

    exit_code = 3


class WriteError(WorkspaceError, OSError):
    """A file could not be written (disk full, read-only folder, no permission); the old file is intact.

    Also an OSError, so code that already handled failed writes as OSError keeps working.
    """


class ImageTooLargeError(InputError):
    """An image is over the configured pixel limit (decompression-bomb guard)."""


class CleanupError(GarbError):
    """Cleanup produced nothing usable (e.g. a fully transparent cutout)."""


class Interrupted(KeyboardInterrupt):
    """A batch stopped by Ctrl-C once the items it was working on were finished (each is written whole).

    `done` of `total` items were finished; `partial` is what the batch returns when it is not stopped
    (the outcomes or report so far), for the front end to summarise. Still a KeyboardInterrupt, so
    anything that does not know it treats it as one (exit code 130).
    """

    def __init__(self, done: int, total: int, partial: object = None) -> None:
        super().__init__(f"interrupted after {done} of {total}")
        self.done = done
        self.total = total
        self.partial = partial
