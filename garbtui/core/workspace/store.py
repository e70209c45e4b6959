"""The workspace: a folder of images, crops, backgrounds and scenes; files are the database.

Longer than the ~400 lines other modules keep to, on purpose: the Workspace class is the one place that
knows the folder layout, how ids become paths, the per-item locks and the backups kept on every save;
split up, those rules would be spread over several files that must agree.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from garbtui.core.errors import CleanupError, GarbError, WorkspaceError, WriteError
from garbtui.core.workspace.atomic import atomic_copy, atomic_write_bytes, atomic_write_png
from garbtui.core.workspace.ids import check_id, is_safe_id
from garbtui.core.workspace.jsonfile import read_regular
from garbtui.core.workspace.models import (
    BackgroundMeta,
    CleanupRecipe,
    CropMeta,
    CutoutQuality,
    GarbModel,
    ImageMeta,
    Scene,
)

CropStatus = Literal["pending", "done", "broken"]
SUBDIRS = ("images", "crops", "backgrounds", "scenes")
MARKER = "workspace.json"
META_FILE = "meta.json"
# A scene's render and its labels (written by export.scene_files, checked by `status --check`).
RENDER_FILE = "render.jpg"
LABELS_DIR = "labels"
RENDER_STAMP = ".render.sha1"  # in labels/: the SHA-1 of the render.jpg these labels describe
# The folder of each kind of item whose meta.json the store reads and edits.
META_FOLDER: dict[type[GarbModel], str] = {CropMeta: "crops", ImageMeta: "images", BackgroundMeta: "backgrounds"}


class _Unchecked:
    """The default of `expected`: the caller did not say which version it loaded."""

    def __repr__(self) -> str:
        return "UNCHECKED"


UNCHECKED = _Unchecked()
# What a checked save is told about the file the caller loaded: its stamp, None (there was none), or UNCHECKED.
type ExpectedStamp = FileStamp | None | _Unchecked


class SceneChangedError(WorkspaceError):
    """scene.json changed on disk since the caller loaded it, and the caller asked not to overwrite it."""


class WorkspaceInfo(GarbModel):
    """`workspace.json`: marks a folder as a garbtui workspace."""

    created_by: str = "garbtui"


@dataclass(frozen=True)
class CropEntry:
    """One crop as listed: its status, its meta when readable, and why it is broken otherwise."""

    id: str
    status: CropStatus
    meta: CropMeta | None
    reason: str = ""


@dataclass(frozen=True)
class FileStamp:
    """Which version of a file this is: every atomic save makes a new inode, and an earlier proc.png
    lives on as a hard-linked backup, so (inode, mtime, size) changes on every save even when two
    saves share one coarse mtime tick."""

    inode: int
    mtime_ns: int
    size: int

    @classmethod
    def of(cls, path: Path) -> FileStamp | None:
        try:
            st = os.stat(path)
        except OSError:  # missing, or unreadable (a dangling link, a permission problem): no version to hold
            return None
        return cls(st.st_ino, st.st_mtime_ns, st.st_size)


@dataclass(frozen=True)
class SaveResult:
    """What a checked save did: the file written, its new stamp, the backup kept, and whether the
    file on disk was not the version the caller expected (someone else saved it meanwhile)."""

    path: Path
    stamp: FileStamp | None
    backup: Path | None
    conflict: bool


@dataclass(frozen=True)
class StatusCounts:
    """Counts shown by `garbtui status`."""

    images: int
    crops_pending: int
    crops_done: int
    crops_broken: int
    backgrounds: int
    scenes: int

    @property
    def crops(self) -> int:
        return self.crops_pending + self.crops_done + self.crops_broken


class Workspace:
    """A garbtui workspace folder. Every path it hands out stays inside `root`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def create(cls, root: Path) -> Workspace:
        """Open `root` as a workspace, making the folder layout if needed."""
        root = Path(root)
        if root.exists() and not root.is_dir():
            raise WorkspaceError("not a folder", where=str(root))
        ws = cls(root)
        for sub in SUBDIRS:
            try:
                (ws.root / sub).mkdir(parents=True, exist_ok=True)
            except OSError as exc:  # read-only, vanished, a file in the way: one line naming it
                raise WriteError(f"cannot write: {exc.strerror or exc}", where=str(ws.root / sub)) from None
        if not (ws.root / MARKER).exists():
            WorkspaceInfo().save(ws.root / MARKER)
        return ws

    @classmethod
    def open(cls, root: Path) -> Workspace:
        """Open an existing workspace; raise WorkspaceError when `root` is not one."""
        root = Path(root)
        if not root.is_dir():
            said = "is a file, not a workspace folder" if root.exists() else "workspace folder does not exist"
            raise WorkspaceError(said, where=str(root))
        ws = cls(root)
        if not (ws.root / MARKER).exists() and not any((ws.root / s).is_dir() for s in SUBDIRS):
            raise WorkspaceError(
                "not a garbtui workspace (no workspace.json, images/ or crops/); create one with `garbtui extract`",
                where=str(root),
            )
        # Opening never writes: folders are made by the first file saved into them.
        return ws

    # -- paths -----------------------------------------------------------------------------
    def _child(self, sub: str, item_id: str) -> Path:
        check_id(item_id, sub.rstrip("s") + " id")
        path = (self.root / sub / item_id).resolve()
        if path.parent != (self.root / sub).resolve():
            raise WorkspaceError(f"id {item_id!r} escapes the workspace")
        return path

    def crop_dir(self, crop_id: str) -> Path:
        return self._child("crops", crop_id)

    def image_dir(self, image_id: str) -> Path:
        return self._child("images", image_id)

    def background_dir(self, bg_id: str) -> Path:
        return self._child("backgrounds", bg_id)

    def scene_dir(self, scene_id: str) -> Path:
        return self._child("scenes", scene_id)

    def raw_path(self, crop_id: str) -> Path:
        return self.crop_dir(crop_id) / "raw.png"

    def proc_path(self, crop_id: str) -> Path:
        return self.crop_dir(crop_id) / "proc.png"

    def mask_path(self, crop_id: str) -> Path:
        return self.crop_dir(crop_id) / "mask.png"

    def image_path(self, image_id: str) -> Path:
        return self.image_dir(image_id) / self.load_image_meta(image_id).file

    def background_path(self, bg_id: str) -> Path:
        return self.background_dir(bg_id) / self.load_background_meta(bg_id).file

    # -- listing ---------------------------------------------------------------------------
    def _ids(self, sub: str) -> list[str]:
        # A folder whose name is not a safe id (say "New Folder" made by hand), or a link that leads
        # out of the workspace, is left out of every listing rather than breaking it; `status --check`
        # reports it via stray_folders().
        return [name for name, reason in self._folders(sub) if not reason]

    def _folders(self, sub: str) -> list[tuple[str, str]]:
        """Every folder in `sub`, with why it cannot be an item ("" when it can)."""
        base = self.root / sub
        if not base.is_dir():
            return []
        out = []
        real_base = base.resolve()
        with os.scandir(base) as it:
            for entry in it:
                if entry.name.startswith(".") or not entry.is_dir():
                    continue
                reason = ""
                if not is_safe_id(entry.name):
                    reason = "folder name is not a valid id (letters, digits, '.', '_', '-'); it is ignored"
                elif entry.is_symlink() and Path(entry.path).resolve().parent != real_base:
                    reason = "a link to a folder outside the workspace; it is ignored"
                out.append((entry.name, reason))
        return sorted(out)

    def stray_folders(self) -> list[tuple[str, str]]:
        """Folders in images/, crops/, backgrounds/, scenes/ that are not items: (sub/name, why)."""
        return [(f"{sub}/{name}", reason) for sub in SUBDIRS for name, reason in self._folders(sub) if reason]

    def image_ids(self) -> list[str]:
        return self._ids("images")

    def crop_ids(self) -> list[str]:
        return self._ids("crops")

    def background_ids(self) -> list[str]:
        return self._ids("backgrounds")

    def scene_ids(self) -> list[str]:
        return self._ids("scenes")

    def crop_status(self, crop_id: str) -> CropStatus:
        """pending (no proc.png), done, or broken (raw.png or meta.json missing). Cheap: no file is read."""
        d = self.crop_dir(crop_id)
        if not (d / "raw.png").is_file() or not (d / "meta.json").is_file():
            return "broken"
        return "done" if (d / "proc.png").is_file() else "pending"

    def crop_entry(self, crop_id: str) -> CropEntry:
        """The crop with its meta read and checked; never raises for a broken crop."""
        d = self.crop_dir(crop_id)
        if not (d / "raw.png").is_file():
            return CropEntry(crop_id, "broken", self._try_meta(crop_id), "raw.png is missing")
        try:
            meta = self.load_crop_meta(crop_id)
        except GarbError as exc:
            return CropEntry(crop_id, "broken", None, exc.message)
        return CropEntry(crop_id, "done" if (d / "proc.png").is_file() else "pending", meta)

    def _try_meta(self, crop_id: str) -> CropMeta | None:
        try:
            return self.load_crop_meta(crop_id)
        except GarbError:
            return None

    def crops(self) -> Iterator[CropEntry]:
        for crop_id in self.crop_ids():
            yield self.crop_entry(crop_id)

    def pending_crop_ids(self) -> list[str]:
        return [c for c in self.crop_ids() if self.crop_status(c) == "pending"]

    def status(self) -> StatusCounts:
        counts = {"pending": 0, "done": 0, "broken": 0}
        for crop_id in self.crop_ids():
            counts[self.crop_status(crop_id)] += 1
        return StatusCounts(
            images=len(self.image_ids()),
            crops_pending=counts["pending"],
            crops_done=counts["done"],
            crops_broken=counts["broken"],
            backgrounds=len(self.background_ids()),
            scenes=len(self.scene_ids()),
        )

    # -- models ----------------------------------------------------------------------------
    def load_meta[Meta: (CropMeta, ImageMeta, BackgroundMeta)](self, kind: type[Meta], item_id: str) -> Meta:
        """Read and check the meta.json of a crop, image or background (`kind` is its model class)."""
        folder = self._child(META_FOLDER[kind], item_id)
        return _same_id(kind.load(folder / META_FILE), item_id, folder)

    def save_meta(self, meta: CropMeta | ImageMeta | BackgroundMeta) -> None:
        """Write a meta.json whole. A new item's first meta is written this way; edits go through update_meta."""
        meta.save(self._child(META_FOLDER[type(meta)], meta.id) / META_FILE)

    def load_crop_meta(self, crop_id: str) -> CropMeta:
        return self.load_meta(CropMeta, crop_id)

    def save_crop_meta(self, meta: CropMeta) -> None:
        self.save_meta(meta)

    def load_image_meta(self, image_id: str) -> ImageMeta:
        return self.load_meta(ImageMeta, image_id)

    def save_image_meta(self, meta: ImageMeta) -> None:
        self.save_meta(meta)

    def load_background_meta(self, bg_id: str) -> BackgroundMeta:
        return self.load_meta(BackgroundMeta, bg_id)

    def save_background_meta(self, meta: BackgroundMeta) -> None:
        self.save_meta(meta)

    # -- read-modify-write under the item's lock ---------------------------------------------
    def update_meta[Meta: (CropMeta, ImageMeta, BackgroundMeta)](
        self, kind: type[Meta], item_id: str, change: Callable[[Meta], None]
    ) -> Meta:
        """Load an item's meta.json, apply `change` to it, and save it, all under the item's lock (the one
        save_proc holds for a crop), so two people editing the same item never lose each other's changes.

        The one way garbtui edits a meta.json. `change` edits the model in place and may raise to cancel
        (nothing is written); the file is only rewritten when the change changed something.
        """
        with self.lock(item_id, META_FOLDER[kind]):
            return self._update_meta_locked(kind, item_id, change)

    def _update_meta_locked[Meta: (CropMeta, ImageMeta, BackgroundMeta)](
        self, kind: type[Meta], item_id: str, change: Callable[[Meta], None]
    ) -> Meta:
        """update_meta's read-modify-write, for a caller that already holds the item's lock."""
        meta = self.load_meta(kind, item_id)
        before = meta.model_copy(deep=True)
        change(meta)
        if meta != before:
            self.save_meta(meta)
        return meta

    def create_or_update_meta[Meta: (CropMeta, ImageMeta, BackgroundMeta)](
        self, kind: type[Meta], item_id: str, create: Callable[[], Meta], change: Callable[[Meta], None],
        undo: Callable[[], None] | None = None,
    ) -> tuple[Meta, bool]:
        """update_meta when the item's meta.json exists, else save create()'s meta, deciding which under the
        item's lock (two processes adding the same item at once: the second edits what the first wrote).
        `create` may write the item's other files first; when it or the save fails, `undo` (still under the
        lock) removes them. Returns the meta and whether it was created."""
        with self.lock(item_id, META_FOLDER[kind]):
            if (self._child(META_FOLDER[kind], item_id) / META_FILE).is_file():
                return self._update_meta_locked(kind, item_id, change), False
            try:
                meta = create()
                self.save_meta(meta)
            except BaseException:
                if undo is not None:
                    undo()
                raise
            return meta, True

    def update_crop_meta(self, crop_id: str, change: Callable[[CropMeta], None]) -> CropMeta:
        """update_meta(CropMeta, ...)."""
        return self.update_meta(CropMeta, crop_id, change)

    def update_image_meta(self, image_id: str, change: Callable[[ImageMeta], None]) -> ImageMeta:
        """update_meta(ImageMeta, ...): an image's scene, surface, horizon..."""
        return self.update_meta(ImageMeta, image_id, change)

    def update_background_meta(self, bg_id: str, change: Callable[[BackgroundMeta], None]) -> BackgroundMeta:
        """update_meta(BackgroundMeta, ...): a background's horizon, camera height, placement area..."""
        return self.update_meta(BackgroundMeta, bg_id, change)

    def load_scene(self, scene_id: str) -> Scene:
        return _same_id(Scene.load(self.scene_dir(scene_id) / "scene.json"), scene_id, self.scene_dir(scene_id))

    def save_scene(
        self, scene: Scene, *, expected: ExpectedStamp = UNCHECKED, refuse_conflict: bool = False,
        before_write: Callable[[], None] | None = None,
    ) -> SaveResult:
        """Write scene.json; a scene.json that is not the one the caller loaded is kept as a backup.

        `expected` is scene_stamp(id) taken when the caller loaded the scene (None: it was new). When
        the file on disk differs (someone else saved or created it meanwhile), it is kept as
        scene.bak-<time>.json and the result has conflict=True; otherwise no backup is made. A caller
        that does not pass `expected` gets a backup whenever the file on disk has other content.
        With `refuse_conflict`, a file that differs from `expected` is left alone and SceneChangedError
        is raised instead (nothing is written). `before_write` runs under the scene's lock once the
        check has passed, just before scene.json is written (a render commits its files there).
        """
        path = self.scene_dir(scene.id) / "scene.json"
        backup: Path | None = None
        # A lock file of its own: callers such as compose.save already hold the scene's main lock.
        with self.lock(scene.id, "scenes", name=".scene.lock"):
            found = FileStamp.of(path)
            if expected is UNCHECKED:
                conflict = False
                differs = found is not None and read_regular(path, WorkspaceError, "scene file") != _scene_bytes(scene)
            else:
                conflict = differs = found != expected
                if conflict and refuse_conflict:
                    raise SceneChangedError(
                        "scene.json was saved by someone else while this was working on it; nothing was written "
                        "(their version is kept): run the command again to use it", where=str(path))
            if found is not None and differs:
                backup = self._backup_name(path, "scene.bak")
                atomic_copy(path, backup)
            if before_write is not None:
                before_write()
            atomic_write_bytes(path, _scene_bytes(scene))
            stamp = FileStamp.of(path)
        return SaveResult(path, stamp, backup, conflict)

    def scene_stamp(self, scene_id: str) -> FileStamp | None:
        """Identity of the current scene.json (None when there is none), for save_scene(expected=...)."""
        return FileStamp.of(self.scene_dir(scene_id) / "scene.json")

    def scene_backups(self, scene_id: str) -> list[Path]:
        return sorted(self.scene_dir(scene_id).glob("scene.bak-*.json"))

    # -- crop images -----------------------------------------------------------------------
    def write_raw(self, crop_id: str, image: NDArray[np.uint8], *, bgr: bool = False) -> bool:
        """Write raw.png once (RGB, or BGR with bgr=True). Returns False, writing nothing, when it exists."""
        path = self.raw_path(crop_id)
        if path.exists():
            return False
        atomic_write_png(path, image, compression=1, bgr=bgr, fast=True)
        return True

    def save_proc(
        self, crop_id: str, rgba: NDArray[np.uint8], recipe: CleanupRecipe, *, expected: ExpectedStamp = UNCHECKED
    ) -> Path | None:
        """Save proc.png and its recipe. An existing proc.png is kept as a timestamped backup, never lost.

        Returns the backup path when one was made. See save_proc_checked for `expected`.
        """
        return self.save_proc_checked(crop_id, rgba, recipe, expected=expected).backup

    def save_proc_checked(
        self, crop_id: str, rgba: NDArray[np.uint8], recipe: CleanupRecipe, *, expected: ExpectedStamp = UNCHECKED,
        quality: CutoutQuality | None = None,
    ) -> SaveResult:
        """Save proc.png like save_proc and say whether someone else saved it since the caller looked.

        `quality` (the cutout's confidence) is written with the recipe, in the same meta.json write.

        `expected` is proc_stamp(crop_id) taken when the caller loaded the crop (None: there was no
        proc.png then). When proc.png on disk is no longer that file, another process saved it in
        between: it is kept as a backup like any earlier proc.png, and the result has conflict=True.
        """
        if rgba.ndim != 3 or rgba.shape[2] != 4:
            raise CleanupError("a cutout must be an RGBA image")
        if not rgba[:, :, 3].any():
            raise CleanupError(f"crop {crop_id}: the cutout is fully transparent; nothing was saved")
        backup: Path | None = None
        with self.lock(crop_id):
            self.load_crop_meta(crop_id)  # a crop whose meta cannot be read gets no proc.png (nor a backup)
            proc = self.proc_path(crop_id)
            found = FileStamp.of(proc)
            if found is not None:
                backup = self._backup_name(proc, "proc.bak")
                atomic_copy(proc, backup)
            # The recipe goes in first: a save killed in between leaves the crop pending (no proc.png)
            # with the new recipe, which a re-run completes; the other order would leave a done crop
            # whose recipe is never recorded, since re-runs skip done crops.
            def record(meta: CropMeta) -> None:
                meta.cleanup = recipe
                if quality is not None:
                    meta.quality = quality

            self._update_meta_locked(CropMeta, crop_id, record)
            atomic_write_png(proc, rgba)
            stamp = FileStamp.of(proc)
        conflict = expected is not UNCHECKED and found != expected
        return SaveResult(proc, stamp, backup, conflict)

    def proc_stamp(self, crop_id: str) -> FileStamp | None:
        """Identity of the current proc.png (None when there is none), for save_proc(expected=...)."""
        return FileStamp.of(self.proc_path(crop_id))

    @staticmethod
    def _backup_name(path: Path, prefix: str) -> Path:
        """A fresh backup name beside `path`; the caller holds the item's lock, so no one else takes it."""
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        base = f"{prefix}-{stamp}-{time.time_ns() % 1_000_000:06d}"
        candidate = path.with_name(base + path.suffix)
        n = 1
        # Two saves in the same microsecond must not share a name: os.replace would drop the first backup.
        while candidate.exists():
            candidate = path.with_name(f"{base}-{n}{path.suffix}")
            n += 1
        return candidate

    def proc_backups(self, crop_id: str) -> list[Path]:
        return sorted(self.crop_dir(crop_id).glob("proc.bak-*.png"))

    @contextmanager
    def lock(self, item_id: str, sub: str = "crops", name: str = ".lock") -> Iterator[None]:
        """An advisory inter-process lock on one item, for read-modify-write of its files.

        Not re-entrant: a holder that needs a nested lock on the same item uses another `name`.
        """
        fd = self._lock_fd(item_id, sub, name)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @contextmanager
    def try_lock(self, item_id: str, sub: str = "crops", name: str = ".lock") -> Iterator[bool]:
        """Like lock, without waiting: yields True when this process holds the lock, False when another does."""
        fd = self._lock_fd(item_id, sub, name)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _lock_fd(self, item_id: str, sub: str, name: str) -> int:
        directory = self._child(sub, item_id)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            # 0o666 less the umask, so colleagues in the group can take the lock too; never follow a
            # symlink planted in place of the lock file (it would create a file wherever it points).
            return os.open(directory / name, os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            reason = "it is a symbolic link (refused)" if exc.errno == errno.ELOOP else exc.strerror or str(exc)
            raise WriteError(f"cannot lock: {reason}", where=str(directory / name)) from None


def _scene_bytes(scene: Scene) -> bytes:
    """scene.json exactly as GarbModel.save writes it (so equal scenes compare equal on disk)."""
    return (scene.model_dump_json(indent=2) + "\n").encode("utf-8")


def _same_id[M: (CropMeta, ImageMeta, BackgroundMeta, Scene)](model: M, folder_id: str, folder: Path) -> M:
    """The id inside a file must be its folder's name: saves go to the folder the id names, so a copied
    or renamed folder would otherwise write into another item's files."""
    if model.id != folder_id:
        raise WorkspaceError(
            f"its file says id {model.id!r} but the folder is {folder_id!r} (a copied or renamed folder?); "
            "rename the folder back or set the id to the folder name",
            where=str(folder),
        )
    return model
