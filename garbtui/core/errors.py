"""The error types garbtui raises on purpose; anything else is a bug."""

from __future__ import annotations


class GarbError(Exception):
    """Base of every error garbtui reports to the user as one clear line."""

    exit_code = 1

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.message = message
        self.where = where
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
