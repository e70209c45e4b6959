"""Unit tests of garbtui.core on real images and exports."""
