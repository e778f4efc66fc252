"""Tests of the package's shape: `utils/` is what notebooks import and learners read (a module map,
`__all__`, short modules), `tools/` is machinery, and every name the course's text uses exists."""

import ast
import importlib
import json
import re
from pathlib import Path

import pytest

from utils.config import ROOT

UTILS = sorted(
    str(path.relative_to(ROOT)).removesuffix(".py").removesuffix("/__init__").replace("/", ".")
    for path in (ROOT / "utils").rglob("*.py")
    if path.name != "__init__.py" or path.parent != ROOT / "utils"
)
#: The modules notebooks import by their short name (`from utils import data, ...`).
NOTEBOOK_MODULES = (
    "config",
    "data",
    "exercises",
    "experiments",
    "metrics",
    "models",
    "ops",
    "plotting",
    "references",
    "setup",
    "training",
    "verify",
)
TEXTS = [
    *sorted((ROOT / "notebooks").glob("*.ipynb")),
    ROOT / "notebooks" / "glossary.md",
    ROOT / "notebooks" / "source_document.md",
    ROOT / "README.md",
    ROOT / "TEACHING.md",
]


def _text(path) -> str:
    if path.suffix != ".ipynb":
        return path.read_text(encoding="utf-8")
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells)


def test_the_module_map_names_every_module_of_utils():
    import utils

    mapped = set(re.findall(r"^- `(\w+)`", utils.__doc__, re.MULTILINE))
    top_level = {name.split(".")[1] for name in UTILS}
    assert mapped == top_level, "utils/__init__.py's module map and the modules differ"


@pytest.mark.parametrize("module", UTILS)
def test_each_module_declares_what_it_offers_and_stays_short(module):
    imported = importlib.import_module(module)
    assert imported.__doc__, f"{module} needs a docstring"
    assert hasattr(imported, "__all__"), f"{module} needs __all__"
    for name in imported.__all__:
        assert hasattr(imported, name), f"{module}.__all__ names {name!r}, which is not there"
    lines = len(Path(imported.__file__).read_text(encoding="utf-8").splitlines())
    assert lines <= 500, f"{module} has {lines} lines: split it (one concern per module)"


def test_utils_never_imports_the_machinery():
    for path in (ROOT / "utils").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("tools"), path
            elif isinstance(node, ast.Import):
                assert not any(alias.name.startswith("tools") for alias in node.names), path


def test_notebooks_import_only_utils():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        assert not re.search(r"^\s*(from|import) tools\b", _text(path), re.MULTILINE), path


@pytest.mark.parametrize("path", TEXTS, ids=lambda path: path.name)
def test_every_name_the_course_text_uses_exists(path):
    """`data.load_real`, `utils.models.build_unet`, `experiments.verdict`, ... in a notebook's
    code or prose, the glossary, README or TEACHING: each still works."""
    # The short names are the modules notebooks import as `from utils import ...`; any other
    # module is meant only with its `utils.` prefix (`vae` is also a notebook's variable).
    short = {name: f"utils.{name}" for name in NOTEBOOK_MODULES}
    others = "|".join(name.removeprefix("utils.") for name in UTILS)
    pattern = rf"(?<![\w.])(?:utils\.({others})|({'|'.join(short)}))\.([A-Za-z_]\w*)"
    missing = []
    for prefixed, bare, name in set(re.findall(pattern, _text(path))):
        if name == "py":  # a file name (utils/data.py), not an attribute
            continue
        module = f"utils.{prefixed or bare}"
        if not hasattr(importlib.import_module(module), name):
            missing.append(f"{module}.{name}")
    assert not missing, f"{path.name} uses names that do not exist: {sorted(missing)}"
