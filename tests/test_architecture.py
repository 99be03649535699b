"""The package's imports: data flows one way, and no module imports a higher stage, not even in a function.

Every ``import`` statement of every module is read with ``ast`` (module level, inside functions, under
``TYPE_CHECKING``), resolved to the module it names, and checked against the stage table below; the
module graph must have no cycle.  ``derive/__init__.py`` is the public façade: it may name anything.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "derive"

#: stage → the stages it may import (besides itself).  The order of the README's Architecture section.
ALLOWED: dict[str, set[str]] = {
    "_version": set(),
    "errors": set(),
    "files": {"errors"},
    "catalog": {"errors"},
    "engine": {"catalog", "errors"},
    "derivations": {"engine", "catalog", "errors"},
    "render": {"engine", "catalog", "errors", "files", "_version"},
    "export": {"derivations", "engine", "catalog", "errors", "_version"},
    "parse": {"catalog", "errors"},
    "verification": {"parse", "engine", "catalog", "render", "errors", "files"},
    "slowdown": {"export", "derivations", "engine", "catalog", "errors", "files"},
    "gallery": {"slowdown", "render", "export", "derivations", "engine", "catalog", "errors", "files", "_version"},
    "commands": {
        "gallery",
        "slowdown",
        "verification",  # derive verify (derive.commands.verifying)
        "export",  # derive export (derive.commands.exporting)
        "render",
        "derivations",
        "parse",  # --loss/--activation formulas and --catalog files (derive.parse.functions, catalog_file)
        "engine",
        "catalog",
        "errors",
        "files",
    },  # fmt: skip
    "cli": {
        "commands",
        "gallery",
        "slowdown",
        "verification",
        "parse",
        "export",
        "render",
        "derivations",
        "engine",
        "catalog",
        "errors",
        "files",
        "_version",
    },  # fmt: skip
    "__main__": {"cli"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def stage(module: str) -> str:
    return module.split(".")[1] if "." in module else "__init__"


def imported(module: str, path: Path) -> list[tuple[str, int]]:
    """(module imported, line) for every import of derive's own modules in ``module`` (read from ``path``)."""
    found = []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names if alias.name.startswith("derive")]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            if not base.startswith("derive"):
                continue
            for alias in node.names:
                name = f"{base}.{alias.name}"
                found.append((name if name in MODULES else base, node.lineno))
    return found


EDGES = {m: imported(m, p) for m, p in MODULES.items()}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if stage(m) != "__init__"))
def test_no_upward_import(module):
    here = stage(module)
    assert here in ALLOWED, f"{module}: stage {here!r} is missing from ALLOWED (add it where it belongs)"
    for target, line in EDGES[module]:
        there = stage(target)
        assert there == here or there in ALLOWED[here], f"{module}:{line} imports {target} ({here} → {there})"


def test_no_import_cycle():
    graph = {m: {t for t, _ in EDGES[m] if t in MODULES and t != m} for m in MODULES if m != "derive"}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1  # on the current path
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " → ".join(path[path.index(nxt) :] + [nxt]))
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2  # done

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_every_module_is_in_a_known_stage():
    assert {stage(m) for m in MODULES} - {"__init__"} <= set(ALLOWED)


def test_the_walk_sees_imports_inside_functions(tmp_path):
    """The checker itself: function-level and relative imports are found (they hid the old 9-module cycle)."""
    source = (
        "import sympy\n"
        "def f():\n    from derive.render import latex\n    return latex\n"
        "def g():\n    from . import steps\n    import derive.export.codegen\n"
    )
    path = tmp_path / "steps_like.py"
    path.write_text(source)
    assert imported("derive.engine.trace_like", path) == [
        ("derive.render.latex", 3),
        ("derive.engine.steps", 6),
        ("derive.export.codegen", 7),
    ]


def test_every_subpackage_ships_in_the_wheel():
    """pyproject lists packages by hand (templates/ is mapped into derive.render): a new subpackage must be
    listed too, or `pip install .` ships a `derive` that fails to import it (CI caught derive.commands)."""
    pyproject = (PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8")  # no tomllib on Python 3.10
    block = re.search(r"^packages = \[(.*?)\]", pyproject, re.S | re.M)
    assert block, "pyproject.toml: [tool.setuptools] packages list not found"
    listed = set(re.findall(r'"([\w.]+)"', block.group(1)))
    on_disk = {".".join(init.parent.relative_to(PACKAGE.parent).parts) for init in PACKAGE.rglob("__init__.py")}
    assert on_disk <= listed, f"add to pyproject.toml [tool.setuptools] packages: {sorted(on_disk - listed)}"
