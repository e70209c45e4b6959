"""Ultralytics' own checks on a garbtui dataset: its dataset check, its label scan (detect and segment), and
optionally one epoch of `yolo train` for each task. Run it in a venv of its own (Ultralytics needs torch):

    python3.11 -m venv /tmp/yolo && /tmp/yolo/bin/pip install torch==2.14.1 torchvision==0.29.1 ultralytics
    YOLO_OFFLINE=1 /tmp/yolo/bin/python bench/yolo_check.py DATASET [--train]

Models are built from their yaml (no weights are downloaded); plots are off (they fetch a font).
"""

from __future__ import annotations

import argparse
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", help="a folder written by garbtui generate")
    parser.add_argument("--train", action="store_true", help="also train one epoch, detect and segment, on the CPU")
    args = parser.parse_args()
    from ultralytics import YOLO
    from ultralytics.data import YOLODataset
    from ultralytics.data.utils import check_det_dataset

    data_yaml = f"{args.dataset.rstrip('/')}/data.yaml"
    data = check_det_dataset(data_yaml)
    print("check_det_dataset:", {k: data[k] for k in ("path", "train", "val", "nc")})
    bad = 0
    for task in ("detect", "segment"):
        for split in ("train", "val"):
            ds = YOLODataset(img_path=data[split], data=data, task=task, imgsz=320, augment=False)
            labels = ds.get_labels()
            objects = sum(len(lab["cls"]) for lab in labels)
            segments = sum(len(lab["segments"]) for lab in labels)
            print(f"{task} {split}: {len(labels)} images, {objects} objects, {segments} outlines")
            bad += task == "segment" and segments != objects
    if args.train:
        for task, model in (("detect", "yolo11n.yaml"), ("segment", "yolo11n-seg.yaml")):
            result = YOLO(model, task=task).train(data=data_yaml, epochs=1, imgsz=320, batch=8, workers=0, device="cpu",
                                                  plots=False, amp=False, pretrained=False, project="runs-garbtui",
                                                  name=task, exist_ok=True, verbose=False)
            print(f"yolo {task} train, 1 epoch: done, results in {getattr(result, 'save_dir', 'runs-garbtui')}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
