"""The app's screens: crop queue (home), cleanup, images and backgrounds, help."""
