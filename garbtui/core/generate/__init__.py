"""Batch generation of labelled synthetic scenes: recipes, sampling, rendering, dataset export, runners."""
