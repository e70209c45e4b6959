"""Run a generation: plan the recipes, render the missing images (in-process, a process pool or Dask), merge.

Resuming is the normal path: images whose record (recipes/<name>.json, written last) exists and
holds the same recipe are kept; every other planned image is rendered again, overwriting any half
write atomically. The dataset files are then rebuilt from the records, so a killed and resumed run
ends byte-identical to an uninterrupted one.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from garbtui.core.errors import GarbError, InputError
from garbtui.core.generate.dataset import DatasetSummary, write_dataset
from garbtui.core.generate.recipe import ImageRecord, Recipe, RunManifest, RunSettings
from garbtui.core.generate.render import RECIPES_DIR, ImageOutputs, RenderCache, image_outputs
from garbtui.core.generate.sampler import build_catalog, plan_recipes
from garbtui.core.generate.writer import OutputWriter
from garbtui.core.workspace.atomic import ensure_dir, sweep_temp_files
from garbtui.core.workspace.jobs import ProgressFn, no_progress
from garbtui.core.workspace.jobs import default_workers as default_workers  # the CLI's --workers default reads it here
from garbtui.core.workspace.store import Workspace

MANIFEST = "generate.json"
Engine = Literal["local", "dask"]


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


def record_path(out_dir: Path, name: str) -> Path:
    return Path(out_dir) / RECIPES_DIR / f"{name}.json"


def _done(out_dir: Path, recipe: Recipe) -> ImageRecord | None:
    """The committed record of this exact recipe, or None when the image must be (re)rendered."""
    path = record_path(out_dir, recipe.name)
    if not path.is_file():
        return None
    try:
        # Validated straight from JSON bytes: twice as fast as GarbModel.load, and the merge reads every record.
        rec = ImageRecord.model_validate_json(path.read_bytes())
    except (OSError, ValueError):
        return None
    if rec.recipe != recipe or not (out_dir / rec.image_file).is_file() or not (out_dir / rec.label_file).is_file():
        return None
    return rec


def _check_manifest(out_dir: Path, manifest: RunManifest) -> None:
    path = out_dir / MANIFEST
    if not path.is_file():
        return
    old = RunManifest.load(path)
    for name in ("settings", "categories", "fragments", "backgrounds"):
        if getattr(old, name) != getattr(manifest, name):
            raise InputError(
                f"{out_dir} holds a run with other {name} (see {MANIFEST}); resume it with the same settings and "
                "workspace, or choose another output folder", where=str(out_dir), field="out_dir")


# -- local process pool -------------------------------------------------------------------------------
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


def _work(recipe: Recipe, categories: list[str]) -> ImageOutputs:
    cache = _WORKER["cache"]
    return image_outputs(cache.ws, recipe, categories, cache)


def _start_pool(ws: Workspace, workers: int) -> ProcessPoolExecutor:
    # forkserver, not fork: the parent may run threads (progress bar, writers) and forking those is unsafe.
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["garbtui.core.generate.render"])
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                               initargs=(str(ws.root), os.getpid()))
    for _ in range(workers):
        pool.submit(_warm)
    return pool


def _run_local(ws: Workspace, todo: list[Recipe], categories: list[str], pool: ProcessPoolExecutor | None,
               workers: int, writer: OutputWriter) -> None:
    """Render in this process (no pool) or on the pool's processes; this process writes (see writer.py)."""
    if pool is None:
        cache = RenderCache(ws)
        for recipe in todo:
            writer.put(image_outputs(ws, recipe, categories, cache))
        return
    pending: set[Future[ImageOutputs]] = set()
    window = 3 * workers  # a bounded number in flight: memory stays flat however long the run
    for recipe in todo:
        pending.add(pool.submit(_work, recipe, categories))
        if len(pending) >= window:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                writer.put(fut.result())
    while pending:
        finished, pending = wait(pending, return_when=FIRST_COMPLETED)
        for fut in finished:
            writer.put(fut.result())


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
    ls_prefix: str = "",
) -> GenerateReport:
    """Make (or finish) a dataset of `count` scenes in `out_dir`. Same settings and files, same bytes.

    workers: local processes (engine local) or LocalCluster workers (engine dask without a scheduler).
    """
    if count < 1:
        raise InputError(f"must be at least 1, got {count}", field="count")
    pmin, pmax = settings.per_image
    if not (1 <= pmin <= pmax):
        raise InputError(f"must be MIN-MAX with 1 <= MIN <= MAX, got {pmin}-{pmax}", field="per_image")
    w, h = settings.size
    if not (16 <= w <= 8192 and 16 <= h <= 8192):
        raise InputError(f"must be between 16x16 and 8192x8192, got {w}x{h}", field="size")
    out_dir = Path(out_dir).resolve()
    if out_dir == ws.root or ws.root in out_dir.parents:
        raise InputError("must be outside the workspace", where=str(out_dir), field="out_dir")
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("is not a folder", where=str(out_dir), field="out_dir")
    if engine not in ("local", "dask"):
        raise InputError(f"unknown engine {engine!r} (local or dask)", field="engine")
    pool = _start_pool(ws, workers) if engine == "local" and workers > 1 else None
    try:
        catalog = build_catalog(ws, settings.backgrounds)
        categories = catalog.categories
        manifest = RunManifest(settings=settings, categories=categories,
                               fragments=[f.crop_id for f in catalog.fragments],
                               backgrounds=[b.meta.id for b in catalog.backgrounds], count=count)
        if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MANIFEST).is_file():
            raise InputError("exists, is not empty and holds no garbtui run; choose an empty or new folder",
                             where=str(out_dir), field="out_dir")
        _check_manifest(out_dir, manifest)
        ensure_dir(out_dir)
        sweep_temp_files(out_dir, ("images", "labels", "recipes"))  # a dataset's own folders only
        manifest.save(out_dir / MANIFEST)

        recipes = list(plan_recipes(catalog, settings, count))
        todo = [r for r in recipes if _done(out_dir, r) is None]
        total, reused = len(recipes), len(recipes) - len(todo)
        done = reused
        report_progress = progress or no_progress
        report_progress(done, total, "resuming" if reused else "")

        def tick(name: str) -> None:
            nonlocal done
            done += 1
            report_progress(done, total, name)

        if todo:
            with OutputWriter(out_dir, tick) as writer:
                if engine == "dask":
                    from garbtui.core.generate.distributed import run_on_dask

                    run_on_dask(ws, todo, categories, writer, scheduler=scheduler, workers=workers)
                else:
                    _run_local(ws, todo, categories, pool, max(1, workers), writer)
    except BrokenProcessPool:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        raise GarbError("a worker process died (out of memory?); what was written is kept, rerun to resume",
                        where=str(out_dir)) from None
    except BaseException:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        raise
    if pool is not None:
        pool.shutdown(wait=True)
    records = []
    for recipe in recipes:
        rec = _done(out_dir, recipe)
        if rec is None:
            raise GarbError(f"image {recipe.name} was not written", where=str(out_dir))
        records.append(rec)
    summary = write_dataset(out_dir, records, categories, ls_prefix=ls_prefix)
    return GenerateReport(out_dir, total, len(todo), reused, summary, categories, list(catalog.notes))

