"""Atomic file writes: a temporary file in the same folder, fsync, then rename over the target.

Every file gets the mode a plain open() would give it (0o666 less the umask), so colleagues, training
jobs and servers under other accounts can read what garbtui writes; mkstemp alone would leave 0o600.
Temporary names carry a `garbtui-PID-` tag, so a sweep removes a killed garbtui writer's leftovers and
nothing else.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from garbtui.core.errors import WriteError


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so readers only ever see the old or the new complete file.

    A failed write (disk full, read-only folder...) raises WriteError naming the file; the old file,
    if any, is left as it was and no temporary file stays behind.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # The PID in the name lets a later run tell a killed writer's leftovers from a live writer's file.
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{TEMP_TAG}{os.getpid()}-", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _write_error(path, exc) from None
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        _unlink_quietly(tmp)
        raise _write_error(path, exc) from None
    except BaseException:
        _unlink_quietly(tmp)
        raise


TEMP_TAG = "garbtui-"


def ensure_dir(path: Path) -> None:
    """Make a folder and its parents; a read-only, vanished or file-blocked parent is WriteError (`cannot write`)."""
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_error(Path(path), exc) from None


def current_umask() -> int:
    """The process umask, read without changing it (Linux: /proc/self/status; elsewhere set and restore)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode of a new file: what open(path, "w") would give it."""
    return 0o666 & ~current_umask()


def temp_name(target: Path) -> Path:
    """A unique temporary name beside `target` that sweep_temp_files recognises as a garbtui writer's."""
    return target.parent / f".{target.name}.{TEMP_TAG}{os.getpid()}-{secrets.token_hex(4)}.tmp"


def _write_error(path: Path, exc: OSError) -> WriteError:
    return WriteError(f"cannot write: {exc.strerror or exc}", where=str(path))


def atomic_write_text(path: Path, text: str) -> None:
    """Write UTF-8 text atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def encode_png(image: NDArray[np.uint8], compression: int = 3, *, bgr: bool = False, fast: bool = False) -> bytes:
    """Encode an RGB/RGBA/grey uint8 array (RGB order, or BGR with bgr=True) as PNG bytes.

    fast=True trades about a tenth more bytes for less than half the time (Huffman-only deflate after
    the Sub filter: measured on the sample crops, 12 ms instead of 28 ms for 0.43 MP, 966 KB instead of 850 KB).
    """
    native: cv2.typing.MatLike
    if bgr or image.ndim == 2:
        native = image
    elif image.shape[2] == 4:
        native = cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA)
    else:
        native = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    params = [cv2.IMWRITE_PNG_COMPRESSION, compression]
    if fast:
        params += [cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_HUFFMAN_ONLY]
        if hasattr(cv2, "IMWRITE_PNG_FILTER"):  # OpenCV >= 4.10
            params += [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_SUB]
    ok, buf = cv2.imencode(".png", native, params)
    if not ok:
        raise ValueError("PNG encoding failed")
    return buf.tobytes()


def encode_jpeg(image: NDArray[np.uint8], quality: int = 92) -> bytes:
    """Encode an RGB uint8 array as JPEG bytes (deterministic for the same pixels)."""
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


def atomic_write_png(path: Path, image: NDArray[np.uint8], compression: int = 3, *, bgr: bool = False,
                     fast: bool = False) -> None:
    """Write an RGB(A) (or BGR with bgr=True) array as PNG atomically."""
    atomic_write_bytes(path, encode_png(image, compression, bgr=bgr, fast=fast))


def atomic_write_jpeg(path: Path, image: NDArray[np.uint8], quality: int = 92) -> None:
    """Write an RGB array as JPEG atomically."""
    atomic_write_bytes(path, encode_jpeg(image, quality))


def atomic_copy(src: Path, dst: Path) -> None:
    """Place a copy of `src` at `dst` atomically: a hard link when possible, else a byte copy."""
    dst = Path(dst)
    # PID for sweep_temp_files, a random part so two threads copying to one place never share a temp file.
    tmp = temp_name(dst)
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        _unlink_quietly(tmp)
        try:
            # A link shares the source's mode: only link what others may read as a fresh file would be.
            if os.stat(src).st_mode & file_mode() != file_mode():
                raise PermissionError("source mode narrower than the umask allows")
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
            os.chmod(tmp, file_mode())
        os.replace(tmp, dst)
        # When dst is already a link to the same file (another process copied it a moment ago),
        # rename(2) succeeds without doing anything and tmp stays: it must not be left behind.
        _unlink_quietly(tmp)
    except FileNotFoundError:
        _unlink_quietly(tmp)
        raise  # the source is gone: the caller's problem to report, not a storage failure
    except OSError as exc:
        _unlink_quietly(tmp)
        raise _write_error(dst, exc) from None
    except BaseException:
        _unlink_quietly(tmp)
        raise


def _unlink_quietly(path: str | Path) -> None:
    with contextlib.suppress(OSError):  # best-effort cleanup: never hide the error that brought us here
        os.unlink(path)


_TEMP_NAME = re.compile(r"^\..+\." + TEMP_TAG + r"(\d+)-[^.]*\.tmp$")
# The folders of a workspace that garbtui writes into; a sweep looks nowhere else.
WORKSPACE_FOLDERS: tuple[str, ...] = ("images", "crops", "backgrounds", "scenes")


def sweep_temp_files(root: Path, folders: Sequence[str] = WORKSPACE_FOLDERS) -> int:
    """Delete what killed garbtui writers left behind (their PID is gone). Returns how many were removed.

    Looks only in `root` itself and, recursively, in its `folders` (garbtui's own: a workspace's by
    default), never through a symbolic link, and removes only names made by temp_name or
    atomic_write_bytes (`.NAME.garbtui-PID-RANDOM.tmp`): temporary files, and the staging folders a
    render builds its labels in. Other programs' `.x.tmp` files, and anything elsewhere, are never touched.
    """
    root = Path(root)
    removed = _sweep_entries(root, recurse=False)
    for name in folders:
        folder = root / name
        if folder.is_dir() and not folder.is_symlink():
            removed += _sweep_entries(folder, recurse=True)
    return removed


def _sweep_entries(folder: Path, *, recurse: bool) -> int:
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            continue
        if match and not _pid_alive(int(match.group(1))):
            if is_dir:
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                _unlink_quietly(entry.path)
            removed += 1
        elif is_dir and recurse:
            removed += _sweep_entries(Path(entry.path), recurse=True)
    return removed


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
