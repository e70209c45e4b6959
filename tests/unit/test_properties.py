"""Property tests: arbitrary and mutated exports and workspace files raise only garbtui's own clear errors."""

from __future__ import annotations

import contextlib
import copy
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from garbtui.core.errors import GarbError, WorkspaceError
from garbtui.core.extract.coco import parse_coco
from garbtui.core.extract.crops import ExtractOptions, extract, load_export
from garbtui.core.extract.labelstudio import detect_format, parse_labelstudio
from garbtui.core.extract.paths import PathResolver
from garbtui.core.generate.recipe import RunManifest, RunSettings
from garbtui.core.scene.backgrounds import SegMap
from garbtui.core.scene.size_priors import SizePriorsFile
from garbtui.core.workspace.models import (
    BackgroundMeta,
    CleanupRecipe,
    CropMeta,
    GarbModel,
    ImageMeta,
    Placement,
    PlacementArea,
    Scene,
)
from garbtui.core.workspace.store import Workspace, WorkspaceInfo
from tests.conftest import LABELSTUDIO, PHOTOS, SAMPLE_WS

# Fixed and derandomized so CI sees the same examples every run; small enough for well under 30 s.
CI = settings(
    derandomize=True, database=None, deadline=None, max_examples=300, print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

LS_EXPORTS = sorted(LABELSTUDIO.glob("*.json"))
COCO_FILE = PHOTOS / "annotations.json"

ODD_STRINGS = ["", " ", "../../../etc/passwd", "/data/local-files/?d=../../../etc/passwd", "/data/upload/",
               "/data/local-files/?d=", "http://example.com/x.jpg", "file:///etc/hostname", "%00%2e%2e", "nul\x00l",
               "C:\\photos\\x.jpg", "x" * 300, "ç/é.png", "rle", "rectanglelabels", "polygon", "NaN"]
ODD_NUMBERS = [0, -1, -1e9, 1e308, -1e308, 10 ** 30, -(10 ** 30), 2 ** 63, float("nan"), float("inf"),
               float("-inf"), 1e-320, 0.5, 100.0, 101.0, 4294967295]
LEAF = st.one_of(
    st.none(), st.booleans(), st.integers(-(2 ** 70), 2 ** 70), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(ODD_NUMBERS), st.text(max_size=12), st.sampled_from(ODD_STRINGS),
)
JSON = st.recursive(
    LEAF, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=16,
)


def deep(depth: int, kind: str) -> Any:
    """A value nested `depth` levels deep (lists or objects): the parser's recursion limit is the risk."""
    value: Any = 1
    for _ in range(depth):
        value = [value] if kind == "list" else {"value": value}
    return value


def _number_paths(value: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [path]
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    return [p for k, v in items for p in _number_paths(v, (*path, k))]


@st.composite
def mutated(draw: st.DrawFn, doc: Any, max_mutations: int = 3) -> Any:
    """`doc` with 1..max_mutations edits at random places: keys dropped, types changed, odd values put in."""
    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, max_mutations))):
        doc = _mutate_once(draw, doc)
    return doc


def _mutate_once(draw: st.DrawFn, doc: Any) -> Any:
    if draw(st.integers(0, 2)) == 0:  # a third of the edits hit a number: coordinates, sizes, ids
        paths = _number_paths(doc)
        if paths:
            path = paths[draw(st.integers(0, len(paths) - 1))]
            new = draw(st.sampled_from(ODD_NUMBERS) | st.floats() | st.sampled_from(ODD_STRINGS))
            if not path:
                return new
            node = doc
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = new
            return doc
    # A random walk from the root, stopping at each level with some chance: every depth gets edited.
    parent, key, node = None, None, doc
    while isinstance(node, (dict, list)) and node and draw(st.integers(0, 3)) != 0:
        keys = list(node.keys()) if isinstance(node, dict) else list(range(len(node)))
        k = keys[draw(st.integers(0, len(keys) - 1))]
        parent, key, node = node, k, node[k]
    op = draw(st.sampled_from(["delete", "replace", "stringify", "wrap", "number", "empty", "deep", "add_key",
                               "duplicate", "swap"]))
    if op == "delete" and parent is not None:
        del parent[key]
        return doc
    if op == "add_key" and isinstance(node, dict):
        node[draw(st.sampled_from(["x", "points", "rle", "format", "value", "type", "data", "id", "image_id",
                                   "segmentation", "bbox", "counts", "size", "rotation"]))] = draw(JSON)
        return doc
    if op == "duplicate" and isinstance(node, list) and node:
        node.extend(copy.deepcopy(node[: draw(st.integers(1, 3))]))
        return doc
    if op == "swap" and isinstance(node, list) and len(node) > 1:
        node.reverse()
        return doc
    new: Any
    if op == "stringify":
        new = json.dumps(node, allow_nan=True) if not isinstance(node, str) else [node]
    elif op == "wrap":
        new = [node] if draw(st.booleans()) else {"value": node}
    elif op == "number":
        new = draw(st.sampled_from(ODD_NUMBERS))
    elif op == "empty":
        new = type(node)() if isinstance(node, (dict, list, str)) else None
    elif op == "deep":
        new = deep(draw(st.sampled_from([20, 200])), draw(st.sampled_from(["list", "dict"])))
    else:
        new = draw(JSON)
    if parent is None:
        return new
    parent[key] = new
    return doc


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


BASE_DOCS = {p.name: _load(p) for p in LS_EXPORTS} | {"annotations.json": _load(COCO_FILE)}


def write_json(folder: Path, name: str, data: Any) -> Path:
    path = folder / name
    try:
        text = json.dumps(data, allow_nan=True)
    except (RecursionError, ValueError):
        text = "[" * 5000 + "]" * 5000  # too deep for json.dumps: still a file a user could hand us
    path.write_text(text, encoding="utf-8")
    return path


def parse_any(data: Any) -> None:
    """Both readers, every option, on an in-memory document."""
    fmt = detect_format(data)
    if fmt == "coco":
        parse_coco(data, where="x.json", scene="road")
    else:
        for annotations, predictions in (("latest", False), ("all", True)):
            parse_labelstudio(data, where="x.json", annotations=annotations, predictions=predictions)


# -- the export readers -------------------------------------------------------------------------
@CI
@given(data=JSON)
def test_arbitrary_json_is_an_input_error_or_parses(data: Any) -> None:
    with contextlib.suppress(GarbError):
        parse_any(data)


@CI
@given(data=st.data(), name=st.sampled_from(sorted(BASE_DOCS)))
def test_mutated_exports_raise_only_garb_errors(data: st.DataObject, name: str) -> None:
    doc = data.draw(mutated(BASE_DOCS[name]))
    with contextlib.suppress(GarbError):
        parse_any(doc)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_json(Path(tmp), name, doc)
        for options in (ExtractOptions(), ExtractOptions(annotations="all", predictions=True)):
            with contextlib.suppress(GarbError):
                load_export(path, options=options)


ODD_FILES = [
    "", "\ufeff", "{", "[" * 100_000, "[" * 3000 + "]" * 3000, '{"a": ' * 3000 + "1" + "}" * 3000, "NaN",
    "\x00\x01", '"just a string"', "123", "null", '{"images": 1, "annotations": 2}', '[{"data": 5}]',
]


@pytest.mark.parametrize("text", ODD_FILES, ids=[f"odd{i}" for i in range(len(ODD_FILES))])
def test_odd_export_files_are_input_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "export.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(GarbError):
        load_export(path)


def test_binary_and_missing_export_files(tmp_path: Path) -> None:
    (tmp_path / "bin.json").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(GarbError):
        load_export(tmp_path / "bin.json")
    with pytest.raises(GarbError):
        load_export(tmp_path / "missing.json")
    with pytest.raises(GarbError):
        load_export(tmp_path)  # a folder


# -- extraction on mutated exports ----------------------------------------------------------------
def _small_coco() -> dict[str, Any]:
    doc = copy.deepcopy(BASE_DOCS["annotations.json"])
    keep = {img["id"] for img in doc["images"][:2]}
    doc["images"] = [img for img in doc["images"] if img["id"] in keep]
    doc["annotations"] = [a for a in doc["annotations"] if a["image_id"] in keep]
    return doc


EXTRACT_DOCS = {n: BASE_DOCS[n] for n in ("rectangles.json", "polygons.min.json", "brush.json")} | {
    "coco_small.json": _small_coco()}


def _snapshot(root: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


@settings(parent=CI, max_examples=25)
@given(data=st.data(), name=st.sampled_from(sorted(EXTRACT_DOCS)))
def test_extraction_of_mutated_exports_stays_in_the_workspace(data: st.DataObject, name: str) -> None:
    doc = data.draw(mutated(EXTRACT_DOCS[name], max_mutations=2))
    with tempfile.TemporaryDirectory() as tmp:
        tmp_dir = Path(tmp)
        export = write_json(tmp_dir, name, doc)
        before = _snapshot(tmp_dir)
        ws = Workspace.create(tmp_dir / "ws")
        resolver = PathResolver(
            base_dir=PHOTOS if name.startswith("coco") else LABELSTUDIO,
            local_files_root=LABELSTUDIO / "files", media_root=LABELSTUDIO / "media",
            path_maps=[("/srv/labelstudio/files", str(LABELSTUDIO / "files"))],
        )
        try:
            parsed = load_export(export)
            report = extract(ws, parsed, resolver, workers=1)
        except GarbError:
            report = None
        after = _snapshot(tmp_dir)
        outside = [p for p in after if p not in before and not Path(p).is_relative_to(ws.root)]
        assert not outside, f"extraction wrote outside the workspace: {outside}"
        changed = [p for p in before if after.get(p) != before[p] and not Path(p).is_relative_to(ws.root)]
        assert not changed
        if report is not None:
            for crop_id in report.crop_ids:  # everything it claims to have made is whole and valid
                entry = ws.crop_entry(crop_id)
                assert entry.status == "pending", (crop_id, entry.reason)


def test_shared_inputs_are_never_written(tmp_path: Path) -> None:
    """The property test above extracts straight from the shared photos: none of them may change."""
    roots = [LABELSTUDIO, PHOTOS]
    before = {str(p): p.stat().st_mtime_ns for r in roots for p in r.rglob("*") if p.is_file()}
    ws = Workspace.create(tmp_path / "ws")
    resolver = PathResolver(base_dir=LABELSTUDIO, local_files_root=LABELSTUDIO / "files",
                            media_root=LABELSTUDIO / "media")
    extract(ws, load_export(LABELSTUDIO / "rectangles.json"), resolver, workers=1)
    after = {str(p): p.stat().st_mtime_ns for r in roots for p in r.rglob("*") if p.is_file()}
    assert after == before


# -- every JSON model -------------------------------------------------------------------------------
def _sample(pattern: str) -> dict[str, Any]:
    return _load(sorted(SAMPLE_WS.glob(pattern))[0])


def _scene_doc() -> dict[str, Any]:
    scene = Scene(id="s1", background_id="bg1", seed=3, note="two cans",
                  placements=[Placement(crop_id="c1", x=10.5, y=20.0, scale=0.5, rotation=15, flip=True),
                              Placement(crop_id="c2", x=1.0, y=2.0, blend="poisson", shadow=True)])
    return json.loads(scene.model_dump_json())


def _model_docs() -> dict[str, tuple[type[GarbModel], dict[str, Any]]]:
    docs: dict[str, tuple[type[GarbModel], dict[str, Any]]] = {
        "crop": (CropMeta, _sample("crops/*drink-can*/meta.json")),
        "crop_polygon": (CropMeta, _sample("crops/*paper-cup*/meta.json")),
        "image": (ImageMeta, _sample("images/*/meta.json")),
        "background": (BackgroundMeta, _sample("backgrounds/*/meta.json")),
        "scene": (Scene, _scene_doc()),
        "workspace": (WorkspaceInfo, {"schema_version": 1, "created_by": "garbtui"}),
    }
    recipe = CleanupRecipe(k=4, keep=[0, 2], auto=False)
    with_cleanup = copy.deepcopy(docs["crop"][1]) | {"cleanup": json.loads(recipe.model_dump_json())}
    docs["crop_cleaned"] = (CropMeta, with_cleanup)
    bg = copy.deepcopy(docs["background"][1])
    bg["placement"] = json.loads(PlacementArea(y_min=400, polygons=[[(0, 500), (100, 500), (50, 600)]]).model_dump_json())
    docs["background_area"] = (BackgroundMeta, bg)
    docs["size_priors"] = (SizePriorsFile, {"schema_version": 1, "default": 0.1, "priors": {"can": 0.12}})
    docs["run_manifest"] = (RunManifest, json.loads(RunManifest(
        settings=RunSettings(seed=3, backgrounds=["bg"]), categories=["can"], fragments=["c1"],
        backgrounds=["bg"], count=10).model_dump_json()))
    docs["seg"] = (SegMap, {"schema_version": 1, "width": 100, "height": 50,
                            "regions": [{"surface": "road", "polygons": [[[0, 50], [50, 20], [100, 50]]]}]})
    return docs


MODEL_DOCS = _model_docs()


@pytest.mark.parametrize("name", sorted(MODEL_DOCS))
def test_real_model_files_round_trip(tmp_path: Path, name: str) -> None:
    cls, doc = MODEL_DOCS[name]
    model = cls.model_validate(doc)
    model.save(tmp_path / "m.json")
    again = cls.load(tmp_path / "m.json")
    assert again == model
    again.save(tmp_path / "m2.json")
    assert (tmp_path / "m.json").read_bytes() == (tmp_path / "m2.json").read_bytes()


@CI
@given(data=st.data(), name=st.sampled_from(sorted(MODEL_DOCS)))
def test_mutated_model_files_load_or_raise_workspace_error(data: st.DataObject, name: str) -> None:
    cls, doc = MODEL_DOCS[name]
    doc = data.draw(mutated(doc))
    with tempfile.TemporaryDirectory() as tmp:
        path = write_json(Path(tmp), "meta.json", doc)
        try:
            model = cls.load(path)
        except WorkspaceError as exc:
            assert str(path) in str(exc)  # the message names the file
            return
        # Whatever loads saves and loads back to the same thing: a saved file is never unreadable.
        model.save(path)
        again = cls.load(path)
        assert again == model


@pytest.mark.parametrize("text", ["", "{", "[]", "null", "\x00", "[" * 5000, '{"schema_version": 99}'],
                         ids=["empty", "open", "list", "null", "nul", "deep", "newer"])
@pytest.mark.parametrize("cls", [CropMeta, ImageMeta, BackgroundMeta, Scene, WorkspaceInfo])
def test_broken_model_files_are_workspace_errors(tmp_path: Path, cls: type[GarbModel], text: str) -> None:
    path = tmp_path / "meta.json"
    path.write_text(text, encoding="utf-8")
    if cls is WorkspaceInfo and text == '{"schema_version": 99}':
        with pytest.raises(WorkspaceError, match="newer than this garbtui"):
            cls.load(path)
        return
    with pytest.raises(WorkspaceError):
        cls.load(path)


def test_model_file_that_is_a_folder_or_binary(tmp_path: Path) -> None:
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(WorkspaceError):
        CropMeta.load(tmp_path / "dir.json")
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(WorkspaceError):
        CropMeta.load(tmp_path / "bin.json")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("name", sorted(MODEL_DOCS))
def test_every_number_set_to_nan_or_infinity(tmp_path: Path, name: str, bad: float) -> None:
    """Python's JSON reader accepts NaN and Infinity; a model must refuse them or save them readably."""
    cls, doc = MODEL_DOCS[name]
    _nan_round_trip(tmp_path, name, cls, doc, bad)


def _image_record_doc() -> tuple[type[GarbModel], dict[str, Any]]:
    from garbtui.core.generate.recipe import ImageRecord, ObjectRecord, Recipe

    recipe = Recipe(name="000001", index=0, seed=1, background_id="bg", window=(0, 0, 640, 480), size=(320, 240),
                    placements=[Placement(crop_id="c1", x=10, y=20, scale=0.5)])
    record = ImageRecord(recipe=recipe, image_file="images/000001.jpg", label_file="labels/000001.txt", width=320,
                         height=240, objects=[ObjectRecord(label="can", crop_id="c1", placement_index=0,
                                                           bbox=(1, 2, 3, 4), area=4, polygons=[[(1, 2), (3, 2), (3, 4)]],
                                                           rle={"size": [240, 320], "counts": "PQ1"}, visible_fraction=0.9)])
    return ImageRecord, json.loads(record.model_dump_json())


def test_generate_image_record_refuses_nan(tmp_path: Path) -> None:
    cls, doc = _image_record_doc()
    _nan_round_trip(tmp_path, "image_record", cls, doc, float("nan"))


def _nan_round_trip(tmp_path: Path, name: str, cls: type[GarbModel], doc: dict[str, Any], bad: float) -> None:
    paths = _number_paths(doc)[:60]  # polygon vertices repeat one case many times
    assert paths
    for path in paths:
        changed = copy.deepcopy(doc)
        node = changed
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = bad
        file = write_json(tmp_path, "meta.json", changed)
        try:
            model = cls.load(file)
        except WorkspaceError:
            continue
        model.save(file)
        assert cls.load(file) == model, f"{name} with {bad} at {path} does not survive a save"


def _extract_doc(tmp: Path, name: str, doc: Any) -> tuple[Workspace, Any]:
    export = write_json(tmp, name, doc)
    ws = Workspace.create(tmp / "ws")
    resolver = PathResolver(base_dir=PHOTOS if name.startswith("coco") else LABELSTUDIO,
                            local_files_root=LABELSTUDIO / "files", media_root=LABELSTUDIO / "media")
    return ws, extract(ws, load_export(export), resolver, workers=1)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1e308, 10 ** 400, None],
                         ids=["nan", "inf", "-1e308", "10**400", "null"])
@pytest.mark.parametrize("where", ["box_x", "box_width", "rotation", "ls_point", "ls_size", "coco_point",
                                   "coco_bbox", "coco_size"])
def test_odd_numbers_in_geometry_are_skipped_with_a_reason(tmp_path: Path, where: str, bad: Any) -> None:
    """Every object either becomes a valid crop or is skipped with a reason; nothing crashes."""
    if where.startswith("coco"):
        name, doc = "coco_small.json", copy.deepcopy(EXTRACT_DOCS["coco_small.json"])
        ann = doc["annotations"][0]
        if where == "coco_point":
            ann["segmentation"][0][3] = bad
        elif where == "coco_bbox":
            ann["segmentation"] = []
            ann["bbox"][0] = bad
        else:
            doc["images"][0]["width"] = bad
    elif where.startswith("ls_"):
        name, doc = "polygons.json", copy.deepcopy(BASE_DOCS["polygons.json"][:3])
        results = [r for t in doc for a in t.get("annotations", []) for r in a["result"] if "points" in r["value"]]
        for res in results[:1] if where == "ls_point" else results:
            if where == "ls_point":
                res["value"]["points"][1][0] = bad
            else:
                res["original_width"] = bad
    else:
        name, doc = "rectangles.json", copy.deepcopy(BASE_DOCS["rectangles.json"][:2])
        key = {"box_x": "x", "box_width": "width", "rotation": "rotation"}[where]
        for task in doc:
            for ann in task.get("annotations", []):
                for res in ann["result"][:1]:
                    res["value"][key] = bad
    ws, report = _extract_doc(tmp_path, name, doc)
    assert report.crop_ids
    for crop_id in report.crop_ids:
        entry = ws.crop_entry(crop_id)
        assert entry.status == "pending", (crop_id, entry.reason)
        meta = entry.meta
        assert 1 <= meta.crop_width <= meta.image_width and 1 <= meta.crop_height <= meta.image_height


# -- labeling configs (XML) --------------------------------------------------------------------------
LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">
""" + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10)) + """]>
<View><Image name="image" value="$image"/><Text name="t" value="&lol9;"/></View>"""
EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE v [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>
<View><Image name="image" value="$image"/><Choices name="&xxe;" toName="image"/></View>"""


@pytest.mark.parametrize("text", [LAUGHS, EXTERNAL, "", "<View>", "<View/>", "\x00\xff", "<a><b></a>"],
                         ids=["billion-laughs", "external-entity", "empty", "unclosed", "no-image", "binary", "bad"])
def test_hostile_or_broken_configs_are_input_errors(tmp_path: Path, text: str) -> None:
    from garbtui.core.extract.labelstudio import parse_config

    path = tmp_path / "config.xml"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    with pytest.raises(GarbError):
        parse_config(path)


@CI
@given(data=st.data(), name=st.sampled_from(sorted(p.name for p in LABELSTUDIO.glob("*.config.xml"))))
def test_mutated_configs_parse_or_raise_input_errors(data: st.DataObject, name: str) -> None:
    from garbtui.core.extract.labelstudio import parse_config

    text = (LABELSTUDIO / name).read_text(encoding="utf-8")
    cut = data.draw(st.integers(0, len(text)))
    insert = data.draw(st.sampled_from(["", "<", ">", "&", "&lol;", '"', "<Choices name='x'>", "\x00", "$", "]]>"]))
    mutated_text = text[:cut] + insert + text[cut + data.draw(st.integers(0, 20)):]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_text(mutated_text, encoding="utf-8")
        try:
            config = parse_config(path)
        except GarbError:
            return
        assert config.image_key  # a config that parses always names the image
