"""Every third-party module the package imports is declared in pyproject.toml's dependencies."""

from __future__ import annotations

import ast
import re
import sys
import tomllib

from tests.support import ROOT

# import name -> distribution name, where they differ
DISTRIBUTIONS = {"sklearn": "scikit-learn", "tomli_w": "tomli-w", "yaml": "pyyaml",
                 "distributed": "dask"}  # (comes with the dask[distributed] extra)


def _declared() -> set[str]:
    """The dependencies, and the optional extras' (imported only where they are used: ``--dask``)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = [*project["dependencies"], *(spec for extra, specs in project["optional-dependencies"].items()
                                         if extra != "test" for spec in specs)]
    return {re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0].lower() for spec in specs}


def _imported() -> set[str]:
    """Top-level names of every import statement (parsed, so prose in a docstring that starts with
    "from ..." is not an import)."""
    names: set[str] = set()
    for path in (ROOT / "src" / "fuseboard").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != "fuseboard"}


def test_every_imported_package_is_a_declared_dependency() -> None:
    declared = _declared()
    missing = sorted(DISTRIBUTIONS.get(name, name).replace("_", "-") for name in _imported()
                     if DISTRIBUTIONS.get(name, name).replace("_", "-").lower() not in declared)
    assert missing == []  # scipy (drift p-values) was only a test extra once
