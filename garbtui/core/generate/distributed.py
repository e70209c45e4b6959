"""Generation on Dask (optional extra `garbtui[dask]`): the same recipes rendered on a cluster's workers.

Why Dask rather than Ray: a render is a pure function of (recipe, workspace files) with no state to
keep between tasks, which is exactly Dask's futures model; dask.distributed is pure Python, starts a
LocalCluster in a second without a server, and talks to an existing scheduler by address.

Workers read the workspace (it must be at the same path on every worker: a shared or copied folder)
and send back the encoded image, label text and record; this process writes them with the same
OutputWriter, hence the same bytes, as a local run. Each worker process keeps one RenderCache per workspace.
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

from garbtui.core.errors import InputError
from garbtui.core.generate.recipe import Recipe
from garbtui.core.generate.render import ImageOutputs, RenderCache, image_outputs
from garbtui.core.generate.writer import OutputWriter
from garbtui.core.workspace.store import Workspace

# Per worker process: decoded fragments and backgrounds of each workspace root, shared by its threads.
_CACHES: dict[str, RenderCache] = {}
_CACHES_LOCK = threading.Lock()


def render_remote(ws_root: str, recipe: Recipe, categories: list[str]) -> ImageOutputs:
    """The task run on a Dask worker: render one recipe from the workspace at ws_root."""
    with _CACHES_LOCK:
        cache = _CACHES.get(ws_root)
        if cache is None:
            cache = _CACHES[ws_root] = RenderCache(Workspace(Path(ws_root)))
    return image_outputs(cache.ws, recipe, categories, cache)


def run_on_dask(ws: Workspace, todo: list[Recipe], categories: list[str], writer: OutputWriter, *,
                scheduler: str | None = None, workers: int = 2, processes: bool = True) -> None:
    """Render `todo` on the Dask scheduler at `scheduler` (default: a LocalCluster of `workers` processes)."""
    try:
        from dask.distributed import Client, Future, LocalCluster, as_completed
    except ImportError:
        raise InputError("dask needs the optional extra: pip install 'garbtui[dask]'", field="engine") from None
    cluster = None
    if scheduler:
        client = Client(scheduler)  # type: ignore[no-untyped-call]  # dask.distributed publishes no annotations
    else:
        cluster = LocalCluster(  # type: ignore[no-untyped-call]  # dask.distributed publishes no annotations
            n_workers=max(1, workers), threads_per_worker=1, processes=processes, dashboard_address=None)
        client = Client(cluster)  # type: ignore[no-untyped-call]  # dask.distributed publishes no annotations
    try:
        window = 4 * max(1, len(client.scheduler_info().get("workers", {})) or workers)
        queue = iter(todo)
        ws_root = str(ws.root)
        run = uuid.uuid4().hex[:12]  # task keys unique per run, even on a scheduler shared by several runs

        def submit(recipe: Recipe) -> Future[ImageOutputs]:
            return client.submit(render_remote, ws_root, recipe, categories, key=f"garbtui-{run}-{recipe.name}",
                                 pure=False)

        first = [submit(r) for _, r in zip(range(window), queue, strict=False)]
        stream = as_completed(first)  # type: ignore[no-untyped-call]  # dask.distributed publishes no annotations
        for fut in stream:
            outputs: ImageOutputs = fut.result()
            writer.put(outputs)
            fut.release()
            nxt = next(queue, None)
            if nxt is not None:
                stream.add(submit(nxt))  # type: ignore[no-untyped-call]  # dask.distributed publishes no annotations
    finally:
        client.close()  # type: ignore[no-untyped-call]  # dask.distributed publishes no annotations
        if cluster is not None:
            cluster.close()
