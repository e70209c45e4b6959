"""Extraction: Label Studio and COCO exports read into source items, one crop per annotated object cut out."""
