"""Run a generation: walk the plan, render the missing images (in-process, a process pool or Dask), stream the dataset.

The plan is an iterator (sampler.plan_recipes): it is never held whole. One pass over it, in order:
an image whose record (recipes/<name>.json, written last) exists and holds the same recipe is kept;
any other is rendered (its files overwritten atomically). Finished images come back in any order
and are handed to the dataset writer in plan order through a small reorder window, so the dataset
files are streams and memory stays flat however many images there are; a resume reads each kept
record once, one at a time. A killed and resumed run ends byte-identical to an uninterrupted one.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from garbtui.core.errors import GarbError, InputError
from garbtui.core.export.dataset import DatasetOptions, DatasetSummary, DatasetWriter
from garbtui.core.generate.dataset import dataset_writer, image_drops, image_labels
from garbtui.core.generate.recipe import ALL_MODES, ImageRecord, Recipe, RunManifest, RunSettings
from garbtui.core.generate.render import ImageOutputs, LabelSpec, RenderCache, image_outputs, record_file
from garbtui.core.generate.sampler import build_catalog, plan_recipes
from garbtui.core.generate.writer import OutputWriter
from garbtui.core.workspace.atomic import sweep_temp_files
from garbtui.core.workspace.jobs import ProgressFn, no_progress
from garbtui.core.workspace.jobs import default_workers as default_workers  # the CLI's --workers default reads it here
from garbtui.core.workspace.store import Workspace

MANIFEST = "generate.json"
LAYOUT = 2  # images/{train,val} + labels/{train,val} (1: the flat images/ + labels/ of earlier releases)
Engine = Literal["local", "dask"]
MAX_COUNT = 10_000_000  # scenes per run: ten million 640x480 images are ~500 GB and two days at 60 images/s
WORKERS_PER_CPU = 4  # more worker processes than this per CPU only add memory and switching
DEFAULT_WORKER_TIMEOUT = 120.0  # seconds a Dask run waits with no worker at all before it gives up


def max_workers() -> int:
    """The most local worker processes a run may start here."""
    return max(8, WORKERS_PER_CPU * (os.cpu_count() or 1))


@dataclass
class GenerateReport:
    """What a run did: images in the dataset, rendered now, kept from before, and the class summary."""

    out_dir: Path
    images: int
    rendered: int
    reused: int
    summary: DatasetSummary
    categories: list[str]
    notes: list[str] = field(default_factory=list)
    suspects: list[str] = field(default_factory=list)  # suspect cutouts left out of the run


def record_path(out_dir: Path, name: str) -> Path:
    return Path(out_dir) / record_file(name)


def _done(out_dir: Path, recipe: Recipe, yolo_files: int) -> ImageRecord | None:
    """The committed record of this exact recipe, or None when the image must be (re)rendered."""
    path = record_path(out_dir, recipe.name)
    try:
        # Validated straight from JSON bytes: twice as fast as GarbModel.load; read once per image per run.
        rec = ImageRecord.model_validate_json(path.read_bytes())
    except (OSError, ValueError):
        return None
    if rec.recipe != recipe or not (out_dir / rec.image_file).is_file() or not (out_dir / rec.label_file).is_file():
        return None
    return rec if yolo_files == 1 or _all_labels_there(out_dir, rec) else None


def _all_labels_there(out_dir: Path, rec: ImageRecord) -> bool:
    from garbtui.core.export.dataset import label_paths

    return all((out_dir / p).is_file() for p in label_paths(rec.recipe.split, rec.recipe.name, "both").values())


def _check_manifest(out_dir: Path, manifest: RunManifest) -> None:
    path = out_dir / MANIFEST
    if not path.is_file():
        return
    old = RunManifest.load(path)
    if old.layout != manifest.layout:
        raise InputError(f"{out_dir} holds a run written by an earlier garbtui in another folder layout; "
                         "generate into a new folder", where=str(out_dir), field="out_dir")
    for name in ("settings", "categories", "fragments", "backgrounds", "yolo"):
        if getattr(old, name) != getattr(manifest, name):
            raise InputError(
                f"{out_dir} holds a run with other {name} (see {MANIFEST}); resume it with the same settings and "
                "workspace, or choose another output folder", where=str(out_dir), field="out_dir")


# -- renderers: where the images are made ---------------------------------------------------------------
class Renderer(Protocol):
    """Takes recipes, gives back their finished outputs in any order."""

    window: int  # how many recipes may be in flight at once

    @property
    def in_flight(self) -> int: ...

    def submit(self, recipe: Recipe) -> None: ...

    def next_done(self) -> ImageOutputs:
        """Block until one submitted recipe is finished and return its outputs."""
        ...

    def close(self, ok: bool) -> None: ...


class InlineRenderer:
    """Renders in this process, one recipe at a time."""

    window = 1

    def __init__(self, ws: Workspace, spec: LabelSpec) -> None:
        self.cache = RenderCache(ws)
        self.spec = spec
        self._done: deque[ImageOutputs] = deque()

    @property
    def in_flight(self) -> int:
        return len(self._done)

    def submit(self, recipe: Recipe) -> None:
        self._done.append(image_outputs(self.cache.ws, recipe, self.spec, self.cache))

    def next_done(self) -> ImageOutputs:
        return self._done.popleft()

    def close(self, ok: bool) -> None:
        self._done.clear()


# One RenderCache per worker process, made by the pool initializer: fragments and backgrounds are decoded
# once per process instead of once per image. It lives in a module global because that is the only state
# a ProcessPoolExecutor task can reach; it is never touched by the parent process.
_WORKER: dict[str, RenderCache] = {}


def _init_worker(ws_root: str, parent_pid: int) -> None:
    # Ctrl-C reaches the whole process group: the parent alone decides (cancel, keep what is written, exit 130).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER["cache"] = RenderCache(Workspace(Path(ws_root)))
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True, name="parent-watch").start()


def _exit_with_parent(parent_pid: int, interval: float = 0.5) -> None:
    """A worker whose parent was killed outright (kill -9, the OOM killer) ends itself instead of living on
    as an orphan holding memory; the forkserver and resource tracker then exit on their own."""
    while True:
        time.sleep(interval)
        try:
            os.kill(parent_pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:
            pass


def _warm() -> None:
    """A no-op task: submitting it makes the pool start its processes while the parent is still planning."""


def _work(recipe: Recipe, spec: LabelSpec) -> ImageOutputs:
    cache = _WORKER["cache"]
    return image_outputs(cache.ws, recipe, spec, cache)


class PoolRenderer:
    """Renders on a pool of local worker processes."""

    def __init__(self, ws: Workspace, workers: int, spec: LabelSpec) -> None:
        # forkserver, not fork: the parent may run threads (progress bar, writers) and forking those is unsafe.
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["garbtui.core.generate.render"])
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                                        initargs=(str(ws.root), os.getpid()))
        for _ in range(workers):
            self.pool.submit(_warm)
        self.window = 3 * workers  # a bounded number in flight: memory stays flat however long the run
        self.spec = spec
        self._pending: set[Future[ImageOutputs]] = set()
        self._finished: deque[Future[ImageOutputs]] = deque()

    @property
    def in_flight(self) -> int:
        return len(self._pending) + len(self._finished)

    def submit(self, recipe: Recipe) -> None:
        self._pending.add(self.pool.submit(_work, recipe, self.spec))

    def next_done(self) -> ImageOutputs:
        if not self._finished:
            done, self._pending = wait(self._pending, return_when=FIRST_COMPLETED)
            self._finished.extend(sorted(done, key=id))
        fut = self._finished.popleft()
        try:
            return fut.result()
        except BrokenProcessPool:
            raise GarbError("a worker process died (out of memory?); what was written is kept, rerun to resume") from None

    def close(self, ok: bool) -> None:
        if ok:
            self.pool.shutdown(wait=True)
        else:
            self.pool.shutdown(wait=False, cancel_futures=True)


# -- the run ----------------------------------------------------------------------------------------------
def check_run_arguments(count: int, settings: RunSettings, workers: int, engine: str,
                        worker_timeout: float) -> None:
    """Refuse numbers that have no sensible meaning, each with the reason (raises InputError naming the field)."""
    if count < 1:
        raise InputError(f"must be at least 1, got {count}", field="count")
    if count > MAX_COUNT:
        raise InputError(f"must be at most {MAX_COUNT:,} scenes per run, got {count:,} (split larger sets into "
                         "several runs with other seeds)", field="count")
    pmin, pmax = settings.per_image
    if not (1 <= pmin <= pmax):
        raise InputError(f"must be MIN-MAX with 1 <= MIN <= MAX, got {pmin}-{pmax}", field="per_image")
    if pmax > 100:
        raise InputError(f"must be at most 100 fragments per image, got {pmax}", field="per_image")
    w, h = settings.size
    if not (16 <= w <= 8192 and 16 <= h <= 8192):
        raise InputError(f"must be between 16x16 and 8192x8192, got {w}x{h}", field="size")
    if engine not in ("local", "dask"):
        raise InputError(f"unknown engine {engine!r} (local or dask)", field="engine")
    if workers < 1:
        raise InputError(f"must be at least 1, got {workers}", field="workers")
    if workers > max_workers():
        raise InputError(f"must be at most {max_workers()} here ({WORKERS_PER_CPU} per CPU, {os.cpu_count()} CPUs), "
                         f"got {workers}", field="workers")
    if not (worker_timeout > 0):
        raise InputError(f"must be a positive number of seconds, got {worker_timeout}", field="worker_timeout")


def generate_dataset(
    ws: Workspace,
    out_dir: Path,
    count: int,
    settings: RunSettings,
    *,
    workers: int = 1,
    engine: Engine = "local",
    scheduler: str | None = None,
    progress: ProgressFn | None = None,
    options: DatasetOptions | None = None,
    worker_timeout: float = DEFAULT_WORKER_TIMEOUT,
    include_suspect: bool = False,
) -> GenerateReport:
    """Make (or finish) a dataset of `count` scenes in `out_dir`. Same settings and files, same bytes.

    workers: local processes (engine local) or LocalCluster workers (engine dask without a scheduler).
    worker_timeout: seconds a Dask run waits while no worker is connected before it stops (what is done stays).
    Suspect cutouts (CropMeta.quality) are left out unless curated or include_suspect (report.suspects).
    """
    options = options or DatasetOptions()
    check_run_arguments(count, settings, workers, engine, worker_timeout)
    out_dir = Path(out_dir).resolve()
    if out_dir == ws.root or ws.root in out_dir.parents:
        raise InputError("must be outside the workspace", where=str(out_dir), field="out_dir")
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("is not a folder", where=str(out_dir), field="out_dir")
    report_progress = progress or no_progress
    total = count * (len(ALL_MODES) if settings.blend == "all" else 1)
    report_progress(0, total, "reading the workspace")
    renderer: Renderer | None = None
    if engine == "local" and workers > 1:
        renderer = PoolRenderer(ws, workers, LabelSpec((), options.yolo))  # starts while the catalog is read
    ok = False
    try:
        catalog = build_catalog(ws, settings.backgrounds, include_suspect=include_suspect)
        categories = catalog.categories
        spec = LabelSpec(tuple(categories), options.yolo)
        manifest = RunManifest(settings=settings, categories=categories,
                               fragments=[f.crop_id for f in catalog.fragments],
                               backgrounds=[b.meta.id for b in catalog.backgrounds], count=count, layout=LAYOUT,
                               yolo=options.yolo, workspace=str(ws.root))
        if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MANIFEST).is_file():
            raise InputError("exists, is not empty and holds no garbtui run; choose an empty or new folder",
                             where=str(out_dir), field="out_dir")
        _check_manifest(out_dir, manifest)
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot write: {exc.strerror or exc}", where=str(out_dir), field="out_dir") from None
        # A dataset's own folders only: another program's temporary files in --out are never touched.
        sweep_temp_files(out_dir, ("annotations", "images", "labels", "labels-detect", "labelstudio", "recipes"))
        manifest.save(out_dir / MANIFEST)
        if isinstance(renderer, PoolRenderer):
            renderer.spec = spec
        elif engine == "dask":
            from garbtui.core.generate.distributed import DaskRenderer

            renderer = DaskRenderer(ws, spec, scheduler=scheduler, workers=workers, worker_timeout=worker_timeout)
        else:
            renderer = InlineRenderer(ws, spec)
        dataset = dataset_writer(out_dir, categories, options, total)
        try:
            rendered, reused = _stream(out_dir, plan_recipes(catalog, settings, count), renderer, dataset, spec,
                                       total, report_progress)
            summary = dataset.commit()
        except BaseException:
            dataset.discard()
            raise
        ok = True
    finally:
        if renderer is not None:
            renderer.close(ok)
    return GenerateReport(out_dir, total, rendered, reused, summary, categories, list(catalog.notes),
                          list(catalog.suspects))


@dataclass
class _Slot:
    """One image of the plan waiting for its turn to enter the dataset files."""

    name: str
    record: ImageRecord | None = None  # known: kept from an earlier run, or rendered and back
    outputs_pending: bool = False


def _stream(out_dir: Path, plan: Iterator[Recipe], renderer: Renderer, dataset: DatasetWriter, spec: LabelSpec,
            total: int, progress: ProgressFn) -> tuple[int, int]:
    """One pass over the plan: keep or render each image, feed the dataset writer in plan order."""
    done = 0
    rendered = reused = 0
    yolo_files = 2 if spec.yolo == "both" else 1
    order: deque[_Slot] = deque()
    waiting: dict[str, _Slot] = {}
    ahead = max(64, 8 * renderer.window)  # images looked at ahead of the oldest one not yet back
    lock = threading.Lock()

    def tick(name: str) -> None:
        nonlocal done
        with lock:
            done += 1
            progress(done, total, name)

    def collect(writer: OutputWriter) -> None:
        outputs = renderer.next_done()
        writer.put(outputs)
        slot = waiting.pop(outputs.name)
        slot.record = outputs.record
        slot.outputs_pending = False

    def drain() -> None:
        while order and order[0].record is not None:
            rec = order.popleft().record
            assert rec is not None
            dataset.add(image_labels(rec), image_drops(rec), len(rec.recipe.placements))

    with OutputWriter(out_dir, tick) as writer:
        for recipe in plan:
            rec = _done(out_dir, recipe, yolo_files)
            slot = _Slot(recipe.name, rec)
            order.append(slot)
            if rec is not None:
                reused += 1
                tick(recipe.name)
            else:
                while renderer.in_flight >= renderer.window:
                    collect(writer)
                slot.outputs_pending = True
                waiting[recipe.name] = slot
                renderer.submit(recipe)
                rendered += 1
            drain()
            while len(order) > ahead and waiting:
                collect(writer)
                drain()
        while waiting:
            collect(writer)
            drain()
        drain()
    return rendered, reused
