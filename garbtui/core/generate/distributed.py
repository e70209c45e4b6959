"""Generation on Dask (optional extra `garbtui[dask]`): the same recipes rendered on a cluster's workers.

Why Dask rather than Ray: a render is a pure function of (recipe, fragments, background) with no state
to keep between tasks, which is exactly Dask's futures model; dask.distributed is pure Python, starts a
LocalCluster in a second without a server, and talks to an existing scheduler by address.

Workers need no shared filesystem: this process reads each fragment (proc.png as stored, its meta,
the colour of its source photo) and each background photo (the file's bytes) the first time a recipe
needs it, and scatters it to the cluster once, under a key made of its content hash. Every task names
the blobs of its own recipe; a worker fetches each blob once, decodes it once (kept by content hash)
and sends back the encoded image, label text and record, which this process writes with the same
OutputWriter, hence the same bytes, as a local run.

A run whose cluster has no worker left for `worker_timeout` seconds stops with a clear error; every
image written so far stays, and the same command resumes.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
from collections import deque
from concurrent.futures import CancelledError
from dataclasses import dataclass
from typing import Any, NoReturn

import cv2
import numpy as np
from numpy.typing import NDArray

from garbtui.core.compose.fragment import Fragment, alpha_extent, load_fragment
from garbtui.core.compose.look import SourceLook
from garbtui.core.compose.texture import jpeg_quality
from garbtui.core.errors import GarbError, InputError
from garbtui.core.generate.recipe import Recipe
from garbtui.core.generate.render import ImageOutputs, LabelSpec, RenderCache, image_outputs
from garbtui.core.workspace.arrays import as_u8
from garbtui.core.workspace.models import CropMeta
from garbtui.core.workspace.store import FileStamp, Workspace

POLL_SECONDS = 1.0  # how often a waiting run checks that the cluster still has workers
_DROPPED = "the Dask cluster dropped this run's images (its workers left); what was written is kept, rerun to resume"


@dataclass(frozen=True)
class FragmentBlob:
    """A fragment as shipped to workers: its loaded pixels (edge decontaminated, trimmed) as PNG, its meta (source
    k applied) and its source look (old surroundings' colour and brightness, source photo's light)."""

    crop_id: str
    meta_json: str
    png: bytes
    source_bg_lab: tuple[float, float, float] | None
    source_y: float | None = None
    illuminant: tuple[float, ...] | None = None


@dataclass(frozen=True)
class BackgroundBlob:
    """A background photo as shipped to workers: the file's bytes, decoded by the worker."""

    bg_id: str
    data: bytes


def content_key(kind: str, *parts: bytes) -> str:
    """A blob's key: its kind and the SHA-256 of its content (the same content is scattered once)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return f"garbtui-{kind}-{h.hexdigest()[:40]}"


def fragment_blob(ws: Workspace, crop_id: str) -> tuple[str, FragmentBlob]:
    frag = load_fragment(ws, crop_id)
    ok, buf = cv2.imencode(".png", cv2.cvtColor(frag.rgba, cv2.COLOR_RGBA2BGRA))  # lossless: the same pixels
    if not ok:
        raise GarbError(f"crop {crop_id}: could not encode its fragment for the workers")
    png = buf.tobytes()
    meta_json = frag.meta.model_dump_json()
    src = frag.source
    illum = None if src.illuminant is None else tuple(float(v) for v in src.illuminant)
    blob = FragmentBlob(crop_id, meta_json, png, src.bg_lab, src.y, illum)
    return content_key("fragment", crop_id.encode(), meta_json.encode(), png,
                       repr((src.bg_lab, src.y, illum)).encode()), blob


def background_blob(ws: Workspace, bg_id: str) -> tuple[str, BackgroundBlob]:
    if not (ws.background_dir(bg_id) / "meta.json").is_file():
        raise InputError(f"background {bg_id} does not exist in the workspace", where=str(ws.root))
    from garbtui.core.workspace.imageio import probe_image

    path = ws.background_path(bg_id)
    probe_image(path)  # the size limit, checked here: workers decode what they are sent
    data = path.read_bytes()
    return content_key("background", bg_id.encode(), data), BackgroundBlob(bg_id, data)


# -- worker side ----------------------------------------------------------------------------------------
def _decode(data: bytes, flags: int) -> NDArray[np.uint8]:
    img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
    if img is None:
        raise InputError("image data is corrupt or truncated")
    return as_u8(img)


def decode_fragment(blob: FragmentBlob) -> Fragment:
    """The Fragment load_fragment gives for the same files (proc.png decoded as workspace.imageio.read_rgba does)."""
    img = _decode(blob.png, cv2.IMREAD_UNCHANGED)
    if img.dtype != np.uint8:
        img = (img / 257).astype(np.uint8) if img.dtype == np.uint16 else img.astype(np.uint8)
    if img.ndim == 2:
        rgba = as_u8(cv2.cvtColor(img, cv2.COLOR_GRAY2RGBA))
    elif img.shape[2] == 4:
        rgba = as_u8(cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA))
    else:
        rgba = as_u8(cv2.cvtColor(img, cv2.COLOR_BGR2RGBA))
    ext = alpha_extent(rgba[:, :, 3] > 0)
    if ext is None:
        raise InputError(f"crop {blob.crop_id}: proc.png is fully transparent")
    x0, y0, x1, y1 = ext
    meta = CropMeta.model_validate_json(blob.meta_json)
    illum = None if blob.illuminant is None else np.array(blob.illuminant, np.float32)
    return Fragment(blob.crop_id, meta, np.ascontiguousarray(rgba[y0:y1, x0:x1]),
                    SourceLook(blob.source_bg_lab, blob.source_y, illum), None)


class BlobCache(RenderCache):
    """A RenderCache fed from scattered blobs instead of a workspace: decoded once per content key.

    One per worker process, shared by its threads; each task says which blobs its recipe uses
    (thread-local), so a crop or background that changed between runs is a new key, never a stale entry.
    """

    def __init__(self) -> None:
        super().__init__(None)
        self._local = threading.local()
        self._decoded_fragments: dict[str, Fragment] = {}
        self._decoded_photos: dict[str, NDArray[np.uint8]] = {}
        self._qualities: dict[str, int | None] = {}

    def use(self, fragments: dict[str, tuple[str, FragmentBlob]], background: tuple[str, BackgroundBlob]) -> None:
        self._local.fragments = fragments
        self._local.background = background

    def fragment(self, crop_id: str) -> Fragment:
        key, blob = self._local.fragments[crop_id]
        frag = self._decoded_fragments.get(key)
        if frag is None:
            frag = decode_fragment(blob)
            with self._lock:
                self._decoded_fragments[key] = frag
        return frag

    def version(self, frag: Fragment) -> object:
        key, _ = self._local.fragments[frag.crop_id]
        return key

    def _photo(self, bg_id: str) -> tuple[FileStamp | str | None, NDArray[np.uint8]]:
        key, blob = self._local.background
        photo = self._decoded_photos.get(key)
        if photo is None:
            photo = as_u8(cv2.cvtColor(_decode(blob.data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))
            with self._lock:
                self._decoded_photos[key] = photo
        return key, photo

    def photo_quality(self, bg_id: str) -> int | None:
        key, blob = self._local.background
        if key not in self._qualities:
            self._qualities[key] = jpeg_quality(io.BytesIO(blob.data))
        return self._qualities[key]


_CACHE: list[BlobCache] = []  # the worker process's one BlobCache, made by its first task
_CACHE_LOCK = threading.Lock()


def render_remote(recipe: Recipe, spec: LabelSpec, background: tuple[str, BackgroundBlob],
                  fragments: dict[str, tuple[str, FragmentBlob]]) -> ImageOutputs:
    """The task run on a Dask worker: render one recipe from the blobs it was given (no file is read)."""
    with _CACHE_LOCK:
        if not _CACHE:
            _CACHE.append(BlobCache())
        cache = _CACHE[0]
    cache.use(fragments, background)
    return image_outputs(None, recipe, spec, cache)


# -- client side ----------------------------------------------------------------------------------------
class DaskRenderer:
    """Renders recipes on a Dask cluster (a LocalCluster of `workers` processes, or the scheduler at `scheduler`)."""

    def __init__(self, ws: Workspace, spec: LabelSpec, *, scheduler: str | None = None, workers: int = 2,
                 processes: bool = True, worker_timeout: float = 120.0) -> None:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise InputError("dask needs the optional extra: pip install 'garbtui[dask]'", field="engine") from None
        self.ws = ws
        self.spec = spec
        self.worker_timeout = worker_timeout
        self.cluster: Any = None
        try:
            if scheduler:
                self.client: Any = Client(scheduler, timeout=max(10.0, worker_timeout))  # type: ignore[no-untyped-call]  # dask publishes no annotations
            else:
                self.cluster = LocalCluster(  # type: ignore[no-untyped-call]  # dask publishes no annotations
                    n_workers=max(1, workers), threads_per_worker=1, processes=processes, dashboard_address=None)
                self.client = Client(self.cluster)  # type: ignore[no-untyped-call]  # dask publishes no annotations
        except OSError as exc:
            raise InputError(f"cannot reach the Dask scheduler: {exc}", where=scheduler, field="scheduler") from None
        threads = sum(self.client.nthreads().values()) or workers
        self.window = 4 * max(1, threads)
        self._blob_futures: dict[str, Any] = {}  # content key -> the scattered blob's future (keeps it alive)
        self._fragment_keys: dict[str, str] = {}
        self._background_keys: dict[str, str] = {}
        self._pending: set[Any] = set()
        self._finished: deque[Any] = deque()
        self._run = hashlib.sha256(f"{time.time_ns()}-{id(self)}".encode()).hexdigest()[:12]

    @property
    def in_flight(self) -> int:
        return len(self._pending) + len(self._finished)

    def _scatter(self, key: str, blob: object) -> Any:
        fut = self._blob_futures.get(key)
        alone_since: float | None = None
        while fut is None:
            try:
                fut = self.client.scatter({key: blob}, timeout=max(POLL_SECONDS, 5.0))[key]
            except (TimeoutError, OSError):  # a scatter waits for a worker to hold the data
                alone_since = self._check_workers(alone_since)
                continue
            self._blob_futures[key] = fut
        return fut

    def _fragment(self, crop_id: str) -> tuple[str, Any]:
        key = self._fragment_keys.get(crop_id)
        if key is None:
            key, blob = fragment_blob(self.ws, crop_id)
            self._fragment_keys[crop_id] = key
            self._scatter(key, blob)
        return key, self._blob_futures[key]

    def _background(self, bg_id: str) -> tuple[str, Any]:
        key = self._background_keys.get(bg_id)
        if key is None:
            key, blob = background_blob(self.ws, bg_id)
            self._background_keys[bg_id] = key
            self._scatter(key, blob)
        return key, self._blob_futures[key]

    def submit(self, recipe: Recipe) -> None:
        bg_key, bg_fut = self._background(recipe.background_id)
        frags = {}
        for p in recipe.placements:
            if p.crop_id not in frags:
                frags[p.crop_id] = self._fragment(p.crop_id)
        # Futures inside the arguments reach the task as their values: each worker fetches a blob once.
        fut = self.client.submit(render_remote, recipe, self.spec, (bg_key, bg_fut),
                                 {cid: (k, f) for cid, (k, f) in frags.items()},
                                 key=f"garbtui-{self._run}-{recipe.name}", pure=False)
        self._pending.add(fut)

    def next_done(self) -> ImageOutputs:
        from dask.distributed import TimeoutError as DaskTimeout
        from dask.distributed import wait as dask_wait

        alone_since: float | None = None
        while not self._finished:
            try:
                done, not_done = dask_wait(  # type: ignore[no-untyped-call]  # dask publishes no annotations
                    list(self._pending), timeout=POLL_SECONDS, return_when="FIRST_COMPLETED")
            except (DaskTimeout, TimeoutError):
                alone_since = self._check_workers(alone_since)
                continue
            except CancelledError:
                self._forgotten()
            self._pending = set(not_done)
            self._finished.extend(sorted(done, key=lambda f: str(f.key)))
        fut = self._finished.popleft()
        try:
            outputs: ImageOutputs = fut.result()
        except GarbError:
            raise
        except CancelledError:
            self._forgotten()
        except (OSError, RuntimeError) as exc:
            raise GarbError(f"the Dask cluster failed: {exc}; what was written is kept, rerun to resume") from None
        fut.release()
        return outputs

    def _forgotten(self) -> NoReturn:
        """The scheduler forgot this run's tasks (its workers left, or it restarted). With no worker left this
        ends as "no Dask worker" once worker_timeout has passed; with workers, the tasks will not come back."""
        alone_since: float | None = None
        while True:
            alone_since = self._check_workers(alone_since)
            if alone_since is None:
                raise GarbError(_DROPPED)
            time.sleep(POLL_SECONDS)

    def _check_workers(self, alone_since: float | None) -> float | None:
        """None while some worker is connected; when none is, the time since when (raising once it is too long)."""
        try:
            workers = len(self.client.nthreads())
        except (OSError, RuntimeError, TimeoutError):
            workers = 0  # the scheduler itself is unreachable: as good as no worker
        if workers:
            return None
        now = time.monotonic()
        if alone_since is None:
            return now
        if now - alone_since >= self.worker_timeout:
            raise GarbError(f"no Dask worker for {self.worker_timeout:g} s: every worker is gone; what was written is "
                            "kept, start workers and rerun to resume", field="worker_timeout")
        return alone_since

    def close(self, ok: bool) -> None:
        try:
            for fut in list(self._pending) + list(self._finished):
                fut.cancel()
            self._blob_futures.clear()
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()
