"""Export: scenes and datasets written as COCO, YOLO and Label Studio files beside their images."""
