"""The package's folders import only what their docstrings allow, and no module reaches into
another folder's private names (issue 12): the seams the README describes hold in the code."""

import ast
from pathlib import Path

import pytest

from clinic.settings import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "clinic"
SHARED = {"settings", "topics", "severity", "responses"}
# What each folder may import of the project besides itself (as its __init__ docstring says).
ALLOWED = {
    "text": set(),
    "red_flags": {"settings", "severity", "text"},
    "dialogue": {"settings", "topics", "responses"},
    "nlu": SHARED | {"text", "red_flags", "dialogue"},
    "server": {"settings"},
    "handoff": SHARED | {"dialogue", "text"},
    "console": SHARED | {"handoff"},
}
FOLDERS = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())


def project_imports(path: Path):
    """(part of the package, imported names) for every `clinic.` import in a module."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("clinic."):
            yield node.module.split(".")[1], node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("clinic."):
                    yield alias.name.split(".")[1], alias.name, []


def test_every_folder_is_covered():
    assert set(FOLDERS) - {"tools"} == set(ALLOWED)


@pytest.mark.parametrize("folder", sorted(ALLOWED))
def test_a_folder_imports_only_what_it_may(folder):
    wrong = [
        f"{path.relative_to(PROJECT_ROOT)} imports {module}"
        for path in sorted((PACKAGE / folder).rglob("*.py"))
        for part, module, _ in project_imports(path)
        if part not in ALLOWED[folder] | {folder}
    ]
    assert wrong == []


def test_no_module_reaches_into_another_folders_private_names():
    wrong = [
        f"{path.relative_to(PROJECT_ROOT)}: {module}.{name}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for part, module, names in project_imports(path)
        for name in names
        if name.startswith("_") and part != path.relative_to(PACKAGE).parts[0]
    ]
    assert wrong == []


def test_the_product_never_imports_the_tools():
    product = [p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] != "tools"]
    product += list((PROJECT_ROOT / "actions").rglob("*.py"))
    assert [str(p) for p in product if any(part == "tools" for part, _, _ in project_imports(p))] == []
