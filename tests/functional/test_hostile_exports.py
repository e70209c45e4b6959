"""Hostile or odd exports, end to end through the CLI: references that climb out of their roots, names the
OS refuses, control characters, Label Studio's own zips, non-object results, one object in two projects.

Every case checks the three promises: one bad item is one line (never a traceback, never a forged line),
every good item is still extracted, and nothing outside the roots the user named reaches the workspace.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from garbtui.cli import main
from garbtui.core.export.labels import workspace_categories
from garbtui.core.workspace.check import check_workspace
from garbtui.core.workspace.store import Workspace
from tests.conftest import LABELSTUDIO

FILES = LABELSTUDIO / "files"
MEDIA = LABELSTUDIO / "media"
ROAD = FILES / "photos" / "road_01.jpg"
BOX = {"x": 10, "y": 10, "width": 20, "height": 25}


def photo(path: Path, seed: int, size: tuple[int, int] = (160, 120)) -> Path:
    """A small JPEG of its own content (so its image id is its own)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path, quality=90)
    return path


def task(task_id: object, ref: str, label: str = "can", **box: float) -> dict:
    value = {**BOX, **box, "rectanglelabels": [label]}
    return {"id": task_id, "data": {"image": ref},
            "annotations": [{"id": task_id, "result": [{"id": f"r{task_id}", "type": "rectanglelabels", "value": value,
                                                        "from_name": "label", "to_name": "image"}]}]}


def write_export(path: Path, tasks: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(tasks), encoding="utf-8")
    return path


def sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def stored_photos(ws: Path) -> set[str]:
    """SHA-1 of every photo stored in the workspace."""
    return {sha1(p) for p in (ws / "images").glob("*/image.*")}


def assert_clean_output(err: str, out: str = "") -> None:
    """No traceback, no terminal escape, and every stderr line is one of ours (nothing forged by a name)."""
    assert "Traceback" not in err + out
    assert "\x1b" not in err + out and "\x07" not in err + out
    for line in err.splitlines():
        assert line.startswith(("skipped  ", "note     ", "garbtui: ")), f"forged or stray line: {line!r}"


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    """root/ (the local-files and media root), export/ (the export's folder), outside/ (a private photo)."""
    good = photo(tmp_path / "root" / "photos" / "good.jpg", 1)
    secret = photo(tmp_path / "outside" / "secret.jpg", 2)
    photo(tmp_path / "root" / "upload" / "1" / "up.jpg", 3)
    return {"root": tmp_path / "root", "export": tmp_path / "export", "outside": tmp_path / "outside",
            "good": good, "secret": secret, "ws": tmp_path / "ws", "tmp": tmp_path}


# -- reading outside the roots -------------------------------------------------------------------------------
ESCAPES = [
    "/data/local-files/?d=../outside/secret.jpg",
    "/data/local-files/?d=%2e%2e/outside/secret.jpg",
    "/data/local-files/?d=%2E%2E%2Foutside%2Fsecret.jpg",
    "/data/local-files/?d=photos/../../outside/secret.jpg",
    "/data/local-files/?d=photos/..%2F..%2Foutside/secret.jpg",
    "/data/local-files/?d=..\\outside\\secret.jpg",
    "/data/local-files/?d=photos\\..\\..\\outside\\secret.jpg",
    "http://localhost:8080/data/local-files/?d=../outside/secret.jpg",
    "/data/upload/../../outside/secret.jpg",
    "/data/upload/%2e%2e/%2e%2e/outside/secret.jpg",
    "{tmp}/outside/secret.jpg",
    "file://{tmp}/outside/secret.jpg",
    "{tmp}/root/../outside/secret.jpg",
    "/srv/ls/files/../../../{tmp}/outside/secret.jpg",
    "../outside/secret.jpg",
    "../../../../../../../..{tmp}/outside/secret.jpg",
]


@pytest.mark.parametrize("ref", ESCAPES)
def test_a_reference_outside_its_root_is_refused(layout: dict[str, Path], ref: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    tmp = layout["tmp"]
    export = write_export(layout["export"] / "project.json", [
        task(1, "/data/local-files/?d=photos/good.jpg"),
        task(2, ref.replace("{tmp}", str(tmp))),
    ])
    rc = main(["extract", str(export), "-w", str(layout["ws"]), "--local-files-root", str(layout["root"]),
               "--media-root", str(layout["root"]), "--path-map", f"/srv/ls/files={layout['root']}"])
    captured = capsys.readouterr()
    assert rc == 1, captured.err
    assert_clean_output(captured.err, captured.out)
    assert "skipped  project.json: task 2" in captured.err
    assert sha1(layout["secret"]) not in stored_photos(layout["ws"])  # never pulled in
    assert stored_photos(layout["ws"]) == {sha1(layout["good"])}  # the good task still extracted


def test_references_inside_their_roots_still_work(layout: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    root = layout["root"]
    photo(layout["export"] / "rel.jpg", 4)
    photo(root / "photos" / "sub dir" / "spaced name.jpg", 5)
    export = write_export(layout["export"] / "project.json", [
        task(1, "/data/local-files/?d=photos/good.jpg"),
        task(2, "/data/local-files/?d=photos/sub%20dir/spaced%20name.jpg"),
        task(3, "/data/local-files/?d=/photos/./sub dir/../good.jpg", label="other"),  # absolute d: under the root
        task(4, "/data/upload/1/up.jpg"),
        task(5, "rel.jpg"),
        task(6, "/srv/ls/files/photos/good.jpg", label="mapped"),
        task(7, "photos\\good.jpg", label="backslashes"),
    ])
    assert main(["extract", str(export), "-w", str(layout["ws"]), "--local-files-root", str(root),
                 "--media-root", str(root), "--path-map", f"/srv/ls/files={root}",
                 "--images-root", str(layout["export"])]) == 1  # only task 7: photos\good.jpg is not under export/
    assert len(stored_photos(layout["ws"])) == 4
    assert len(Workspace.open(layout["ws"]).crop_ids()) == 6
    assert "task 7" in capsys.readouterr().err


def test_links_inside_a_root_are_followed_only_when_allowed(layout: dict[str, Path],
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    root = layout["root"]
    (root / "photos" / "to-secret.jpg").symlink_to(layout["secret"])
    (root / "linked-dir").symlink_to(layout["outside"], target_is_directory=True)
    (root / "photos" / "to-good.jpg").symlink_to(layout["good"])  # a link that stays inside the root
    export = write_export(layout["export"] / "project.json", [
        task(1, "/data/local-files/?d=photos/to-secret.jpg"),
        task(2, "/data/local-files/?d=linked-dir/secret.jpg"),
        task(3, "/data/local-files/?d=photos/to-good.jpg"),
        task(4, "/data/local-files/?d=photos/good.jpg", label="plain"),
    ])
    args = ["extract", str(export), "-w", str(layout["ws"]), "--local-files-root", str(root)]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert_clean_output(err)
    assert err.count("symbolic link") == 3 and "--follow-symlinks" in err
    assert stored_photos(layout["ws"]) == {sha1(layout["good"])}
    assert main([*args, "--follow-symlinks", "-q"]) == 0  # the user vouches for the links
    assert stored_photos(layout["ws"]) == {sha1(layout["good"]), sha1(layout["secret"])}


# -- names the OS refuses ------------------------------------------------------------------------------------
def test_names_the_os_refuses_are_one_skip_each(layout: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    root = layout["root"]
    long_dir = root / "photos"
    tasks = [
        task(1, "/data/local-files/?d=photos/good.jpg"),
        task(2, "/data/local-files/?d=photos/a\x00b.jpg"),
        task(3, "/data/local-files/?d=photos/a%00b.jpg"),
        task(4, "/data/local-files/?d=photos/" + "n" * 300 + ".jpg"),
        task(5, "/data/local-files/?d=" + "/".join(["d" * 200] * 30) + ".jpg"),
        task(6, "/data/local-files/?d=photos/\udc80bad.jpg"),
        task(7, "/data/local-files/?d=photos/good.jpg", label="lone \ud800 surrogate"),
        task(8, "/data/local-files/?d=photos/good.jpg", label="\udfff"),
        task(9, ["not", "a", "string"]),
        task("10\x00", "/data/local-files/?d=photos/good.jpg", label="nul in the task id"),
        task(11, "/data/local-files/?d=photos/good.jpg", label="x" * 5000),
    ]
    assert long_dir.is_dir()
    export = layout["export"] / "project.json"
    export.parent.mkdir(parents=True)
    # json.dumps writes lone surrogates as \\u escapes, exactly as a hostile JSON file can carry them.
    export.write_text(json.dumps(tasks), encoding="ascii")
    rc = main(["extract", str(export), "-w", str(layout["ws"]), "--local-files-root", str(root)])
    captured = capsys.readouterr()
    assert rc == 1
    assert_clean_output(captured.err, captured.out)
    ws = Workspace.open(layout["ws"])
    labels = sorted(ws.load_crop_meta(c).label for c in ws.crop_ids())
    # The good task, the surrogate label cleaned (a note), the NUL task id kept escaped.
    assert labels == ["can", "lone surrogate", "nul in the task id"]
    assert {ws.load_crop_meta(c).task_id for c in ws.crop_ids()} == {"1", "7", "10\\x00"}
    for n in (2, 3, 4, 5, 6, 8, 11):
        assert f"task {n} " in captured.err or f"task {n}:" in captured.err, n
    assert check_workspace(ws) == []


# -- control characters ---------------------------------------------------------------------------------------
def test_control_characters_never_forge_lines_nor_reach_the_terminal(layout: dict[str, Path],
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    root = layout["root"]
    tasks = [
        task(1, "/data/local-files/?d=photos/good.jpg", label="Drink\ncan"),
        task(2, "/data/local-files/?d=photos/good.jpg", label="\x1b]0;owned\x07\x1b[2Jcap", y=50),
        task(3, "photos/missing\nskipped  forged: fine.jpg"),
        task("4\x1b[31m", "/data/local-files/?d=photos/missing\r\x1b[2K.jpg"),
        task(5, "/data/local-files/?d=photos/good.jpg", label="\u202eevil\u2028label", x=60),
        task(6, "/data/local-files/?d=photos/good.jpg", label="\n\t\x1b"),
        task(7, "/data/local-files/?d=photos/good.jpg", label="  Drink can  ", x=40, y=60),
    ]
    export = write_export(layout["export"] / "project\n.json", tasks)
    rc = main(["extract", str(export), "-w", str(layout["ws"]), "--local-files-root", str(root)])
    captured = capsys.readouterr()
    assert rc == 1
    assert_clean_output(captured.err, captured.out)
    assert "missing\\nskipped  forged: fine.jpg" in captured.err  # the newline is shown escaped, on the task's own line
    ws = Workspace.open(layout["ws"])
    labels = {ws.load_crop_meta(c).label for c in ws.crop_ids()}
    assert labels == {"Drink can", "]0;owned[2Jcap", "evil label"}  # cleaned; task 6 left nothing: skipped
    assert captured.err.count("note     ") >= 3
    # classes.txt and YOLO ids: one class per line, whatever the export held.
    cats = workspace_categories(ws)
    assert all(c.isprintable() for c in cats) and len(cats) == len(set(cats)) == 3


def test_a_workspace_label_with_control_characters_is_a_broken_crop(layout: dict[str, Path],
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    export = write_export(layout["export"] / "p.json", [task(1, "/data/local-files/?d=photos/good.jpg")])
    assert main(["extract", str(export), "-w", str(layout["ws"]), "--local-files-root", str(layout["root"]), "-q"]) == 0
    ws = Workspace.open(layout["ws"])
    crop = ws.crop_ids()[0]
    meta_path = ws.crop_dir(crop) / "meta.json"
    for label in ("a\nb", "\x1b[2J", "\ud800", "", "x" * 201):
        meta = json.loads(meta_path.read_text())
        meta["label"] = label
        meta_path.write_text(json.dumps(meta))
        capsys.readouterr()
        assert main(["status", "-w", str(layout["ws"]), "--check"]) == 1
        out = capsys.readouterr().out
        assert f"crops/{crop}: invalid CropMeta at label" in out and "\x1b" not in out
        assert main(["clean", "-w", str(layout["ws"]), crop]) == 1


# -- Label Studio exports as users download them --------------------------------------------------------------
def crop_windows(ws: Path) -> set[tuple[str, int, int, int, int]]:
    w = Workspace.open(ws)
    out = set()
    for c in w.crop_ids():
        m = w.load_crop_meta(c)
        out.add((m.label, m.origin_x, m.origin_y, m.crop_width, m.crop_height))
    return out


def test_the_label_studio_coco_zip_extracts_like_its_json_export(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--local-files-root", str(FILES), "--media-root", str(MEDIA)]
    assert main(["extract", str(LABELSTUDIO / "polygons.json"), "-w", str(tmp_path / "json"), *args,
                 "--path-map", f"/srv/labelstudio/files={FILES}", "-q"]) == 0
    # The zip names road_01 as ../ls_files/photos/..., the upload as ../ls_data/media/upload/2/..., and the
    # photo imported by absolute path as /tmp/ls_files/photos/tiny_64x48.png: the documented rules find them.
    rc = main(["extract", str(LABELSTUDIO / "polygons.labelstudio-coco.zip"), "-w", str(tmp_path / "zip"), *args,
               "--path-map", f"/tmp/ls_files={FILES}"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "polygons.labelstudio-coco.zip (coco): 4 new image(s)" in captured.out
    assert crop_windows(tmp_path / "zip") == crop_windows(tmp_path / "json")
    # Without the map, the absolute path outside every root is refused with a reason, the rest extracted.
    rc = main(["extract", str(LABELSTUDIO / "polygons.labelstudio-coco.zip"), "-w", str(tmp_path / "zip2"), *args])
    captured = capsys.readouterr()
    assert rc == 1 and "/tmp/ls_files/photos/tiny_64x48.png lies outside the folders" in captured.err
    assert len(crop_windows(tmp_path / "zip2")) == len(crop_windows(tmp_path / "json")) - 3


def test_zips_that_are_not_a_coco_export_are_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = str(tmp_path / "ws")
    assert main(["extract", str(LABELSTUDIO / "polygons.labelstudio-yolo.zip"), "-w", ws]) == 2
    assert "YOLO export zip holds labels but no image paths" in capsys.readouterr().err
    cases = {
        "empty.zip": {},
        "two.zip": {"a.json": b"[]", "b.json": b"[]"},
        "notjson.zip": {"result.json": b"\xff\xfe not json"},
        "deep.zip": {"result.json": b"[" * 100000},
    }
    for name, members in cases.items():
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for member, data in members.items():
                z.writestr(member, data)
        (tmp_path / name).write_bytes(buf.getvalue())
        assert main(["extract", str(tmp_path / name), "-w", ws]) == 2, name
        err = capsys.readouterr().err
        assert err.startswith(f"garbtui: error: {tmp_path / name}") and "Traceback" not in err, err
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    assert main(["extract", str(tmp_path / "broken.zip"), "-w", ws]) == 2
    assert "not a readable zip file" in capsys.readouterr().err
    # A member packed with a method zipfile lacks (deflate64, method 9): one line, no traceback.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("result.json", b"[]")
    data = bytearray(buf.getvalue())
    local, central = data.find(b"PK\x03\x04"), data.find(b"PK\x01\x02")
    data[local + 8 : local + 10] = data[central + 10 : central + 12] = (9).to_bytes(2, "little")
    (tmp_path / "deflate64.zip").write_bytes(bytes(data))
    assert main(["extract", str(tmp_path / "deflate64.zip"), "-w", ws]) == 2
    err = capsys.readouterr().err
    assert "cannot read result.json in the zip" in err and "Traceback" not in err, err


def test_a_zip_bomb_and_an_oversized_export_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GARBTUI_MAX_EXPORT_MB", "1")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("result.json", b" " * (3 << 20))  # 3 MB of spaces deflate to a few kB
    (tmp_path / "bomb.zip").write_bytes(buf.getvalue())
    assert len(buf.getvalue()) < 100_000
    assert main(["extract", str(tmp_path / "bomb.zip"), "-w", str(tmp_path / "ws")]) == 2
    assert "over the limit" in capsys.readouterr().err
    big = tmp_path / "big.json"
    big.write_bytes(b"[" + b" " * (2 << 20) + b"]")
    assert main(["extract", str(big), "-w", str(tmp_path / "ws")]) == 2
    assert "export file is 2.0 MB, over the limit of 1.0 MB" in capsys.readouterr().err


def test_comments_ratings_and_choices_are_not_skipped_objects(layout: dict[str, Path],
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    ref = "/data/local-files/?d=photos/good.jpg"
    extra = [
        {"id": "c", "type": "textarea", "value": {"text": ["looks fine"]}, "from_name": "comment", "to_name": "image"},
        {"id": "s", "type": "choices", "value": {"choices": ["road"]}, "from_name": "scene", "to_name": "image"},
        {"id": "q", "type": "rating", "value": {"rating": 4}, "from_name": "quality", "to_name": "image"},
        {"from_id": "r1", "to_id": "c", "type": "relation", "direction": "right"},
        {"id": "t", "value": {"text": ["a TextArea result without its type"]}, "from_name": "note", "to_name": "image"},
        {"id": "p", "type": "textarea", "value": {**BOX, "text": ["per-region comment"]}, "from_name": "c2",
         "to_name": "image"},
    ]
    boxed = task(1, ref)
    boxed["annotations"][0]["result"] += extra
    choices_only = {"id": 2, "data": {"image": ref}, "annotations": [{"id": 2, "result": extra[:3]}]}
    export = write_export(layout["export"] / "p.json", [boxed, choices_only])
    assert main(["extract", str(export), "-w", str(layout["ws"]), "--local-files-root", str(layout["root"])]) == 0
    err = capsys.readouterr().err
    assert "task 1" not in err  # the comment, rating and relation beside the box are no problem at all
    ws = Workspace.open(layout["ws"])
    assert [ws.load_crop_meta(c).scene for c in ws.crop_ids()] == ["road"]


# -- one object, two projects ----------------------------------------------------------------------------------
def test_one_object_annotated_in_two_projects_is_one_crop(layout: dict[str, Path],
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    ref = "/data/local-files/?d=photos/good.jpg"
    root, ws = layout["root"], layout["ws"]
    a = write_export(layout["export"] / "a.json", [task(1, ref), task(2, ref, label="cap", x=60, y=60)])
    b = write_export(layout["export"] / "b.json", [
        task(1, ref, x=11, y=11),  # project B's task 1: the same can, box shifted by 1% (IoU ~0.8)
        task(3, ref, label="cap", x=70, y=60),  # a second cap beside the first (IoU ~0.3): its own crop
        task(4, ref, label="lid", x=60, y=60),  # another label on the first cap's box: its own crop
    ])
    assert main(["extract", str(a), "-w", str(ws), "--local-files-root", str(root), "-q"]) == 0
    assert main(["extract", str(b), "-w", str(ws), "--local-files-root", str(root)]) == 0
    err = capsys.readouterr().err
    assert err.count("note     ") == 1 and "same object as crop" in err and "b.json: task 1" in err
    labels = sorted(Workspace.open(ws).load_crop_meta(c).label for c in Workspace.open(ws).crop_ids())
    assert labels == ["can", "cap", "cap", "lid"]
    # Both projects in one export, and the re-runs: still one crop per object, nothing added twice.
    both = write_export(layout["export"] / "both.json", json.loads(a.read_text()) + [
        {**t, "id": t["id"] + 100} for t in json.loads(b.read_text())])
    ws2 = layout["tmp"] / "ws2"
    for _ in range(2):
        assert main(["extract", str(both), "-w", str(ws2), "--local-files-root", str(root), "-q"]) == 0
        assert len(Workspace.open(ws2).crop_ids()) == 4


def test_objects_of_one_annotation_or_of_every_annotator_are_never_merged(layout: dict[str, Path]) -> None:
    ref = "/data/local-files/?d=photos/good.jpg"
    twice = task(1, ref)
    # The annotator drew two overlapping cans in one annotation: two objects.
    twice["annotations"][0]["result"].append({"id": "r1b", "type": "rectanglelabels", "from_name": "label",
                                              "to_name": "image", "value": {**BOX, "x": 11, "rectanglelabels": ["can"]}})
    # A second annotator drew the same can on the same task: with --annotations all, each annotator's crop.
    twice["annotations"].append({"id": 2, "result": [{"id": "r2", "type": "rectanglelabels", "from_name": "label",
                                                      "to_name": "image", "value": {**BOX, "rectanglelabels": ["can"]}}]})
    export = write_export(layout["export"] / "p.json", [twice])
    ws = layout["ws"]
    assert main(["extract", str(export), "-w", str(ws), "--local-files-root", str(layout["root"]), "-q",
                 "--annotations", "all"]) == 0
    assert len(Workspace.open(ws).crop_ids()) == 3


def test_the_shared_exports_of_one_photo_set_share_their_objects(tmp_path: Path) -> None:
    """The boxes, polygons and brush projects annotate the same photos: one crop per object, outlines kept
    when they come in the same run."""
    args = ["--local-files-root", str(FILES), "--media-root", str(MEDIA), "--path-map", f"/srv/labelstudio/files={FILES}",
            "-q"]
    combined = tmp_path / "all.json"
    tasks = []
    for n, name in enumerate(["rectangles.json", "polygons.json"]):
        for t in json.loads((LABELSTUDIO / name).read_text()):
            tasks.append({**t, "id": f"{n}-{t['id']}"})
    combined.write_text(json.dumps(tasks))
    assert main(["extract", str(combined), "-w", str(tmp_path / "ws"), *args]) == 0
    ws = Workspace.open(tmp_path / "ws")
    kinds = [ws.load_crop_meta(c).region.kind for c in ws.crop_ids()]
    assert len(kinds) == 22 + 8 - 3 and kinds.count("polygon") == 8  # the polygon won over its box each time


def test_a_fifo_export_or_config_is_an_error_not_a_hang(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "export.json"
    os.mkfifo(fifo)
    assert main(["extract", str(fifo), "-w", str(tmp_path / "ws")]) == 2
    assert "export file is a FIFO (named pipe), not a regular file" in capsys.readouterr().err
    config = tmp_path / "config.xml"
    os.mkfifo(config)
    shutil.copy(LABELSTUDIO / "rectangles.json", tmp_path / "rect.json")
    assert main(["extract", str(tmp_path / "rect.json"), "-w", str(tmp_path / "ws"), "--config", str(config)]) == 2
    assert "labeling config is a FIFO" in capsys.readouterr().err
    assert main(["extract", "/dev/zero", "-w", str(tmp_path / "ws")]) == 2
    assert "is a device" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["\x1b[2J.json", "a\nskipped  forged.json", "\x1b]0;owned\x07.json", "\u202eevil.json"])
def test_errors_and_usage_lines_escape_the_names_they_quote(tmp_path: Path, name: str,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """A file name or argument is shown escaped in `garbtui: error:` and argparse's usage errors."""
    bad = tmp_path / name
    bad.write_text("not json")
    assert main(["extract", str(bad), "-w", str(tmp_path / "ws")]) == 2
    assert main(["render", str(tmp_path / "missing" / name)]) == 2
    with pytest.raises(SystemExit) as usage:
        main(["render", "scene", name])
    assert usage.value.code == 2
    captured = capsys.readouterr()
    # The usage may wrap (continuation lines start with spaces) and ends with a pointer to --help: both ours.
    err = re.sub(r"\n +", " ", captured.err.replace("usage: garbtui", "garbtui: usage").replace("garbtui render: ", "garbtui: "))
    err = re.sub(r"^\(`garbtui render --help` lists every option\)\n", "", err, flags=re.M)
    assert_clean_output(err, captured.out)
    assert all(c.isprintable() for c in captured.err.replace("\n", ""))
    assert err.count("\n") == 4  # two error lines, the usage line and its error: nothing forged
