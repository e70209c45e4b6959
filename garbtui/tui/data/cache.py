"""Small thread-safe LRU caches for decoded images and rendered previews, keyed on (path, mtime, size)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np

from garbtui.core.imageio import read_rgba

V = TypeVar("V")
FileKey = tuple[str, int, int]


def file_key(path: Path) -> FileKey | None:
    """(path, mtime_ns, size): changes whenever the file is replaced, so stale thumbnails are never shown."""
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return (str(path), st.st_mtime_ns, st.st_size)


class LRU(Generic[V]):
    """A bounded mapping; the least recently used entry goes first."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._data: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            value = self._data.get(key)
            if value is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.capacity:
                self._data.popitem(last=False)

    def get_or_make(self, key: Hashable, make: Callable[[], V]) -> V:
        value = self.get(key)
        if value is None:
            value = make()
            self.put(key, value)
        return value

    def __len__(self) -> int:
        return len(self._data)


class ImageCache:
    """Decoded RGBA arrays of workspace files (raw.png, proc.png, photos), plus rendered previews."""

    def __init__(self, decoded: int = 48, frames: int = 512) -> None:
        self.decoded: LRU[np.ndarray] = LRU(decoded)
        self.frames: LRU[object] = LRU(frames)

    def load(self, path: Path) -> tuple[FileKey, np.ndarray]:
        """The file's key and RGBA pixels; raises InputError when it is missing or unreadable."""
        key = file_key(path)
        if key is None:
            from garbtui.core.errors import InputError

            raise InputError("image file not found", where=str(path))
        return key, self.decoded.get_or_make(key, lambda: read_rgba(Path(path)))
