"""Rebuilds sample_data/ from ../shared: a filtered Label Studio export, its photos, and the workspace."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[1] / "shared"
FRONT = ["taco_b1_000032.jpg", "taco_b1_000083.jpg", "taco_b2_000094.jpg"]
ROAD = ["taco_b1_000003.jpg", "taco_b1_000111.jpg", "taco_b2_000088.jpg"]
BACKGROUNDS = [  # file, scene kind
    ("udacity_adv_straight_lines1.jpg", "road"),
    ("udacity_p1_solidWhiteRight.jpg", "road"),
    ("taco_b2_000044_crop_paving.jpg", "front"),
]


def main() -> None:
    from garbtui.core.extract.crops import ExtractOptions, extract, load_export
    from garbtui.core.extract.paths import PathResolver
    from garbtui.core.workspace.store import Workspace

    export_dir = HERE / "export"
    ws_dir = HERE / "workspace"
    for d in (export_dir, ws_dir):
        shutil.rmtree(d, ignore_errors=True)
    wanted = {f"photos/front/{n}" for n in FRONT} | {f"photos/road/{n}" for n in ROAD}
    tasks = json.loads((SHARED / "labelstudio" / "taco_sample.json").read_text(encoding="utf-8"))
    keep = [t for t in tasks if t["data"]["image"].split("?d=", 1)[-1] in wanted]
    export_dir.mkdir(parents=True)
    (export_dir / "taco_sample.json").write_text(json.dumps(keep, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    shutil.copy(SHARED / "labelstudio" / "taco_sample.config.xml", export_dir / "taco_sample.config.xml")
    for rel in sorted(wanted):
        dst = export_dir / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SHARED / rel, dst)
    ws = Workspace.create(ws_dir)
    parsed = load_export(export_dir / "taco_sample.json")
    report = extract(ws, parsed, PathResolver(base_dir=export_dir, local_files_root=export_dir), ExtractOptions())
    print(f"{report.images_new} images, {report.crops_new} crops, {len(report.skipped)} skipped")
    try:
        from garbtui.core.scene.backgrounds import add_background
    except ImportError:
        add_background = None
    if add_background is not None:
        for name, scene in BACKGROUNDS:
            meta = add_background(ws, SHARED / "photos" / "clean" / name, scene)
            print(f"background {meta.id}: horizon {meta.horizon_row}")


if __name__ == "__main__":
    main()
