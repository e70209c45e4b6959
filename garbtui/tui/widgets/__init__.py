"""Reusable widgets: the image preview, the crop table, the cluster legend."""
