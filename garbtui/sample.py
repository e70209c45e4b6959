"""The sample workspace shipped with garbtui, and fresh copies of it (for `garbtui demo` and the screenshots)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import garbtui
from garbtui.core.errors import InputError, WriteError


def sample_workspace() -> Path:
    """The repository's sample workspace (installs are editable, so it sits beside the package)."""
    return Path(garbtui.__file__).resolve().parents[1] / "sample_data" / "workspace"


def _copy_tree(source: Path, target: Path) -> None:
    """Copy files and folders as new ones: modes from the umask, not the repository's."""
    for dirpath, _dirnames, filenames in os.walk(source):
        rel = Path(dirpath).relative_to(source)
        (target / rel).mkdir(parents=True, exist_ok=True)
        for name in filenames:
            if name == ".lock" or name.endswith(".tmp"):  # per-machine state, not sample data
                continue
            shutil.copyfile(Path(dirpath) / name, target / rel / name)


def copy_sample(target: Path) -> Path:
    """Copy the sample workspace to `target` (which must not exist yet) and return its path."""
    source = sample_workspace()
    if not (source / "workspace.json").is_file():
        raise InputError("the sample workspace is missing from this installation", where=str(source))
    target = Path(target)
    if target.exists():
        raise InputError("the demo folder already exists; pick a new one", where=str(target))
    # Copied beside the target and renamed into place: a killed copy never leaves half a workspace.
    # Lock files are per-machine state, not sample data.
    partial = target.parent / f".{target.name}.{os.getpid()}.partial"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _copy_tree(source, partial)
        os.rename(partial, target)
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise WriteError(f"cannot make the demo workspace: {exc.strerror or exc}", where=str(target)) from None
    return target
