"""The TUI's data layer without a screen: fitting, shrinking, caches, the queue model, settings, themes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from garbtui.core.workspace.imageio import read_rgb
from garbtui.core.workspace.store import Workspace
from garbtui.tui.data import pixels
from garbtui.tui.data.cache import ImageCache, file_key
from garbtui.tui.data.config import TuiConfig, config_path
from garbtui.tui.data.queue import CropQueue, QueueFilter
from garbtui.tui.data.themes import load_themes
from tests.conftest import PHOTOS


def test_fit_cells_keeps_aspect_with_tall_cells() -> None:
    # A square picture in a wide box with 10x20 px cells takes twice as many columns as rows.
    assert pixels.fit_cells(512, 512, 200, 60, (10, 20)) == (120, 60)
    assert pixels.fit_cells(1000, 100, 50, 50, (10, 20)) == (50, 2)
    assert pixels.fit_cells(0, 10, 5, 5, (10, 20)) == (0, 0)


def test_shrink_premultiplies_alpha() -> None:
    # A transparent red half next to an opaque blue half: no red may bleed into the shrunk edge.
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[:, :4] = (255, 0, 0, 0)
    rgba[:, 4:] = (0, 0, 255, 255)
    small = pixels.shrink(rgba, 3, 3)
    edge = small[1, 1]
    assert edge[3] > 0 and edge[0] == 0 and edge[2] == 255


def test_checker_shows_through_transparency() -> None:
    rgba = np.zeros((4, 4, 4), np.uint8)
    out = pixels.over_checker(rgba, (2, 2), pixels.CHECKER_DARK)
    assert tuple(out[0, 0]) == pixels.CHECKER_DARK[0] and tuple(out[0, 2]) == pixels.CHECKER_DARK[1]


def test_horizon_and_outline_are_drawn_where_asked() -> None:
    rgb = np.zeros((50, 80, 3), np.uint8)
    out = pixels.draw_horizon(rgb, 40.0, 0.5)
    assert out[20].any() and not out[19].any() and not rgb.any()
    boxed = pixels.draw_polygons(rgb, [([(10, 10), (30, 10), (30, 30), (10, 30)], (0, 255, 0))], (1.0, 1.0))
    assert boxed[10, 20, 1] == 255 and boxed[20, 20].sum() == 0


def test_cache_key_follows_the_file(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    from garbtui.core.workspace.atomic import atomic_write_png

    atomic_write_png(path, np.zeros((4, 4, 3), np.uint8))
    cache = ImageCache()
    key1, img1 = cache.load(path)
    assert cache.load(path)[1] is img1  # second load is a cache hit
    time.sleep(0.01)
    atomic_write_png(path, np.full((5, 5, 3), 9, np.uint8))
    os.utime(path, ns=(time.time_ns(), time.time_ns()))
    key2, img2 = cache.load(path)
    assert key2 != key1 and img2.shape[:2] == (5, 5)
    assert file_key(tmp_path / "missing.png") is None


def _workspace_with_crops(root: Path, n: int) -> Workspace:
    from garbtui.core.workspace.models import BBox, CropMeta, Region

    ws = Workspace.create(root)
    photo = read_rgb(PHOTOS / "front" / "taco_b1_000027.jpg")
    for i in range(n):
        crop_id = f"c{i:02d}"
        rgb = photo[i * 20 : i * 20 + 40, 0:50]
        ws.crop_dir(crop_id).mkdir(parents=True)
        ws.write_raw(crop_id, rgb)
        ws.save_crop_meta(CropMeta(
            id=crop_id, image_id="img", source_path="x.jpg", label="can" if i % 2 else "cup",
            origin_x=0, origin_y=i * 20, crop_width=50, crop_height=40, image_width=960, image_height=1280,
            region=Region(kind="box", bbox=BBox(x0=5, y0=5, x1=45, y1=35)), margin=0.1,
            scene="road" if i < 3 else "front",
        ))
    return ws


def test_queue_pending_first_filters_and_next(tmp_path: Path) -> None:
    ws = _workspace_with_crops(tmp_path / "ws", 5)
    rgba = np.dstack([read_rgb(ws.raw_path("c01")), np.full((40, 50), 255, np.uint8)])
    from garbtui.core.workspace.models import CleanupRecipe

    ws.save_proc("c01", rgba, CleanupRecipe())
    os.remove(ws.raw_path("c04"))
    queue = CropQueue.scan(ws)
    assert [r.id for r in queue.ordered()] == ["c00", "c02", "c03", "c01", "c04"]
    assert queue.counts() == {"pending": 3, "done": 1, "broken": 1}
    queue.update(queue.read_metas(queue.rows))
    assert queue.rows["c04"].reason == "raw.png is missing"
    assert [r.id for r in queue.ordered(QueueFilter("all", label="cup"))] == ["c00", "c02", "c04"]
    assert [r.id for r in queue.ordered(QueueFilter("pending", scene="front"))] == ["c03"]
    assert [r.id for r in queue.ordered(QueueFilter("done"))] == ["c01"]
    assert queue.next_pending("c00") == "c02"
    assert queue.next_pending("c03") == "c00"  # wraps around
    assert queue.next_pending("c00", -1) == "c03"
    assert queue.next_pending("c01") == "c02"  # from a done crop: the next pending one in id order


def test_config_round_trip_and_damage(tmp_path: Path) -> None:
    assert TuiConfig.load().theme == "garb-dark"
    assert TuiConfig(theme="garb-light").save()
    assert config_path().parent == tmp_path / "config"
    assert TuiConfig.load().theme == "garb-light"
    config_path().write_text("{not json", encoding="utf-8")
    assert TuiConfig.load().theme == "garb-dark"


def test_own_themes_load() -> None:
    themes = {t.name: t for t in load_themes()}
    assert themes["garb-dark"].dark and not themes["garb-light"].dark
    assert themes["garb-dark"].primary.startswith("#")


def test_bad_theme_file_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "good.toml").write_text('name = "x"\nprimary = "#123456"\n', encoding="utf-8")
    (tmp_path / "bad.toml").write_text("primary = \n", encoding="utf-8")
    (tmp_path / "empty.toml").write_text('name = "y"\n', encoding="utf-8")
    assert [t.name for t in load_themes(tmp_path)] == ["x"]


@pytest.mark.parametrize("protocol", ["halfcell", "unicode", "kitty"])
def test_make_frame_fits_the_box(protocol: str) -> None:
    from garbtui.tui.widgets.image_view import RenderSpec, make_frame

    image = np.zeros((512, 512, 4), np.uint8)
    image[100:400, 100:400] = (200, 30, 30, 255)
    frame = make_frame(image, RenderSpec(80, 40, protocol, (10, 20)), "k")
    assert (frame.cols, frame.rows) == (80, 40)
    if protocol == "kitty":
        assert frame.pil is not None and frame.pil.size == (800, 800)
    else:
        assert frame.strips is not None and len(frame.strips) == 40
        assert all(s.cell_length == 80 for s in frame.strips)


def test_shrink_over_checker_matches_the_slow_path() -> None:
    rng = np.random.default_rng(3)
    rgba = rng.integers(0, 256, (64, 48, 4), dtype=np.uint8)
    rgba[:10, :, 3] = 0
    rgba[10:20, :, 3] = 255
    fast = pixels.shrink_over_checker(rgba, 12, 16, (2, 2), pixels.CHECKER_DARK).astype(int)
    slow = pixels.over_checker(pixels.shrink(rgba, 12, 16), (2, 2), pixels.CHECKER_DARK).astype(int)
    assert np.abs(fast - slow).max() <= 3
    assert (fast[:2] == slow[:2]).all()  # fully transparent rows show the board exactly


def test_watch_sees_new_removed_and_saved_crops(tmp_path: Path) -> None:
    from garbtui.tui.data import watch

    ws = _workspace_with_crops(tmp_path / "ws", 3)
    before = watch.snapshot(ws.root / "crops")
    assert sorted(before) == ["c00", "c01", "c02"] and not watch.diff(before, before)
    from garbtui.core.workspace.models import CleanupRecipe

    time.sleep(0.01)
    ws.save_proc("c01", np.dstack([read_rgb(ws.raw_path("c01")), np.full((40, 50), 255, np.uint8)]), CleanupRecipe())
    import shutil

    shutil.rmtree(ws.crop_dir("c02"))
    (ws.root / "crops" / "c03").mkdir()
    changes = watch.diff(before, watch.snapshot(ws.root / "crops"))
    assert (changes.added, changes.removed, changes.changed) == (["c03"], ["c02"], ["c01"])


def test_queue_lists_suspect_cutouts_first_with_their_reason(tmp_ws: Workspace) -> None:
    from garbtui.core.cleanup import clean_crop
    from garbtui.core.workspace.models import CropMeta, CutoutQuality
    from tests.unit.test_cleanup_workspace import add_crop

    ids = [add_crop(tmp_ws, "box", crop_id=f"c{i}") for i in range(3)]
    for crop_id in ids[1:]:
        clean_crop(tmp_ws, crop_id)

    def mark(suspect: bool, curated: bool = False):  # noqa: ANN202 - a local setter
        def change(meta: CropMeta) -> None:
            meta.quality = CutoutQuality(score=0.2 if suspect else 0.9, suspect=suspect,
                                         reasons=["in several pieces"] if suspect else [], curated=curated)
        return change

    tmp_ws.update_meta(CropMeta, "c1", mark(False))
    tmp_ws.update_meta(CropMeta, "c2", mark(True))
    queue = CropQueue.scan(tmp_ws)
    queue.update(queue.read_metas(ids))
    order = [r.id for r in queue.ordered(QueueFilter("pending"))]
    assert order == ["c2", "c0"]  # the suspect done crop first, then the pending one; the trusted done one hidden
    assert queue.rows["c2"].why == "0.20: in several pieces"
    tmp_ws.update_meta(CropMeta, "c2", mark(True, curated=True))  # a person saved it in the app
    queue.refresh_status("c2")
    assert [r.id for r in queue.ordered(QueueFilter("pending"))] == ["c0"]
