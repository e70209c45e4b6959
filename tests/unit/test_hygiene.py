"""What garbtui imports at run time: only the standard library and its declared runtime dependencies."""

from __future__ import annotations

import ast
import sys
import tomllib

from tests.conftest import REPO

# Distribution name -> the module it installs, for the runtime dependencies of pyproject.toml.
MODULE_OF = {"opencv-python-headless": "cv2", "scikit-learn": "sklearn", "pillow": "PIL", "textual-image": "textual_image"}
# Optional extras, imported lazily inside the function that needs them, with a clear error when missing.
OPTIONAL = {"dask", "distributed", "onnxruntime"}


def runtime_modules() -> set[str]:
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = {dep.split(">")[0].split("=")[0].split("<")[0].split("[")[0].strip().lower() for dep in meta["dependencies"]}
    return {MODULE_OF.get(name, name.replace("-", "_")) for name in names}


def imports(tree: ast.AST) -> list[tuple[str, int, bool]]:
    """(top-level module, line, at module level?) of every absolute import."""
    top_level = {id(node) for node in getattr(tree, "body", [])}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name.split(".")[0], node.lineno, id(node) in top_level) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module.split(".")[0], node.lineno, id(node) in top_level))
    return found


def test_only_declared_dependencies_are_imported() -> None:
    allowed = runtime_modules() | set(sys.stdlib_module_names) | {"garbtui"}
    assert {"textual", "cv2", "numpy", "sklearn", "PIL", "pydantic"} <= allowed
    bad = []
    for path in sorted((REPO / "garbtui").rglob("*.py")):
        for module, line, module_level in imports(ast.parse(path.read_text(), str(path))):
            where = f"{path.relative_to(REPO)}:{line}"
            if module in OPTIONAL:
                if module_level:
                    bad.append(f"{where}: optional {module} imported at module level")
            elif module not in allowed:
                bad.append(f"{where}: {module} is not a runtime dependency")
    assert not bad, "\n".join(bad)
