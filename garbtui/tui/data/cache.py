"""Small thread-safe LRU caches for decoded images and rendered previews, keyed on (path, mtime, size)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from garbtui.core.errors import InputError
from garbtui.core.workspace.imageio import max_pixels, read_rgba

FileKey = tuple[str, int, int]


def file_key(path: Path) -> FileKey | None:
    """(path, mtime_ns, size): changes whenever the file is replaced, so stale thumbnails are never shown."""
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return (str(path), st.st_mtime_ns, st.st_size)


class LRU[V]:
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

    def __init__(self, decoded: int = 48, frames: int = 256) -> None:
        self.decoded: LRU[np.ndarray] = LRU(decoded)
        self.frames: LRU[object] = LRU(frames)

    def load(self, path: Path) -> tuple[FileKey, np.ndarray]:
        """The file's key and RGBA pixels; raises InputError when it is missing or unreadable."""
        key = file_key(path)
        if key is None:
            from garbtui.core.errors import InputError

            raise InputError("image file not found", where=str(path))
        return key, self.decoded.get_or_make(key, lambda: decode_rgba(Path(path)))


def decode_rgba(path: Path) -> np.ndarray:
    """RGB (opaque files) or RGBA pixels of a preview image: the size is checked from the header, then cv2 decodes.

    core's read_rgba also reads EXIF, which for a PNG makes Pillow decode the whole file first (about
    20 ms for a 512x512 crop); previews skip that. JPEG photos keep the full path (EXIF turns matter).
    """
    if path.suffix.lower() != ".png":
        return read_rgba(path)
    try:
        with Image.open(path) as im:
            width, height = im.size
    except (OSError, ValueError):
        raise InputError("not a readable image", where=str(path)) from None
    if width * height > max_pixels():
        raise InputError(f"image is {width}x{height}, over the pixel limit", where=str(path))
    img = cv2.imdecode(np.fromfile(str(path), dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise InputError("image data is corrupt or truncated", where=str(path))
    if img.dtype != np.uint8:
        img = (img // 257).astype(np.uint8) if img.dtype == np.uint16 else img.astype(np.uint8)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)  # no alpha to carry: 25 % less to shrink
