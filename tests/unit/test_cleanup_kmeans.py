"""k-means pieces on real pixels: exact fast assignment, seeded determinism, colour features, cluster choice."""

from __future__ import annotations

import numpy as np

from garbtui.core.cleanup.auto_select import choose_keep, keep_from_mask, object_fraction
from garbtui.core.cleanup.features import color_codes, color_features, pixel_features
from garbtui.core.cleanup.kmeans import assign, assign_codes, cluster_pixels, fit_kmeans, sample_rows
from garbtui.core.workspace.imageio import read_rgb
from tests.conftest import PHOTOS


def _photo() -> np.ndarray:
    rgb = read_rgb(PHOTOS / "front" / "taco_b1_000032.jpg")
    return np.ascontiguousarray(rgb[400:700, 250:650])


def test_lookup_table_assignment_is_exact() -> None:
    rgb = _photo()
    for space in ("lab", "rgb"):
        feats = pixel_features(rgb, space)
        codes = color_codes(rgb, space)
        assert codes is not None and np.array_equal(codes.astype(np.float32), feats)
        for k, seed in ((2, 0), (6, 1), (9, 2)):
            centers = fit_kmeans(feats[sample_rows(len(feats), 2048, seed)], k, seed)
            assert np.array_equal(assign_codes(codes, centers), assign(feats, centers))


def test_clustering_is_deterministic_for_a_seed_and_ordered_dark_to_light() -> None:
    rgb = _photo()
    feats = pixel_features(rgb, "lab")
    codes = color_codes(rgb, "lab")
    a = cluster_pixels(feats, rgb.shape[:2], 6, 7, 4096, codes)
    b = cluster_pixels(feats, rgb.shape[:2], 6, 7, 4096)
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.centers, b.centers)
    assert (np.diff(a.centers[:, 0]) >= 0).all()
    assert a.counts.sum() == rgb.shape[0] * rgb.shape[1] and (a.counts > 0).all()
    c = cluster_pixels(feats, rgb.shape[:2], 6, 8, 4096, codes)
    assert not np.array_equal(a.centers, c.centers)  # the seed matters


def test_fewer_colours_than_clusters() -> None:
    img = np.zeros((6, 6, 3), np.uint8)
    img[:, 3:] = (200, 30, 30)
    feats = pixel_features(img, "lab")
    cl = cluster_pixels(feats, (6, 6), 5, 0, 4096, color_codes(img, "lab"))
    assert len(np.unique(cl.labels)) == 2


def test_hsv_features_join_red_across_the_hue_wrap() -> None:
    reds = np.array([[[255, 0, 8], [255, 8, 0], [0, 255, 0]]], np.uint8)
    f = color_features(reds, "hsv")[0]
    assert np.linalg.norm(f[0] - f[1]) < 0.2 * np.linalg.norm(f[0] - f[2])


def test_position_features_scale_with_weight() -> None:
    rgb = _photo()
    f = pixel_features(rgb, "lab", position_weight=1.0)
    assert f.shape == (rgb.shape[0] * rgb.shape[1], 5)
    assert abs(float(f[:, 3].max()) - 100.0 * (rgb.shape[1] - 1) / max(rgb.shape[:2])) < 1e-3


def test_object_fraction_picks_the_clusters_over_represented_in_the_prior() -> None:
    labels = np.zeros((10, 10), np.int64)
    labels[3:7, 3:7] = 1  # the object: only inside the prior
    labels[0, :] = 2  # background that also reaches into the prior
    labels[4, 3] = 2
    obj = np.zeros((10, 10), bool)
    obj[2:8, 2:8] = True
    frac = object_fraction(labels, 3, obj, ~obj)
    assert choose_keep(frac) == [1]
    assert keep_from_mask(labels, 3, labels == 1) == [1]
    assert object_fraction(labels, 3, obj, np.zeros_like(obj)).tolist() == [1.0, 1.0, 1.0]
