"""The test suite's own layout: test modules live in tests/unit or tests/integration, no test module
imports another one (shared helpers are fixtures in a conftest.py or live in tests/support), and the
unit tests ask for no workspace, server or console fixture."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
# fixtures that give a test a database, a server or a console: integration tests only
INTEGRATION_FIXTURES = {"demo_url", "demo_path", "demo_master", "shared_demo_url", "ws_url", "pg_demo_template",
                        "http_server", "snap_compare", "alerting_url"}


def _test_modules(folder: Path = TESTS) -> list[Path]:
    return sorted(folder.rglob("test_*.py"))


def _imported_modules(path: Path) -> list[str]:
    """Every module ``path`` imports, relative imports resolved against its package under tests/."""
    package = list(path.relative_to(TESTS.parent).parent.parts)  # e.g. ["tests", "unit"]
    return _imports(path.read_text(encoding="utf-8"), package)


def _imports(source: str, package: list[str]) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names.append(module)
            names += [f"{module}.{alias.name}" for alias in node.names]  # from tests.x import test_y
    return names


def _is_test_module(name: str) -> bool:
    parts = name.split(".")
    return parts[0] == "tests" and any(p.startswith("test_") or p == "conftest" for p in parts[1:])


def test_every_test_module_is_in_unit_or_integration() -> None:
    misplaced = [str(p.relative_to(TESTS)) for p in _test_modules()
                 if p.relative_to(TESTS).parts[0] not in ("unit", "integration")]
    assert misplaced == []


def test_no_test_module_imports_another_test_module() -> None:
    offenders = {str(p.relative_to(TESTS)): bad for p in _test_modules()
                 if (bad := sorted({n for n in _imported_modules(p) if _is_test_module(n)}))}
    assert offenders == {}, "move shared helpers to tests/support or a conftest.py fixture"


def test_the_support_modules_import_no_test_module() -> None:
    offenders = {str(p.relative_to(TESTS)): bad for p in sorted((TESTS / "support").rglob("*.py"))
                 if (bad := sorted({n for n in _imported_modules(p) if _is_test_module(n)}))}
    assert offenders == {}


def test_unit_tests_ask_for_no_workspace_server_or_console() -> None:
    offenders: dict[str, list[str]] = {}
    for path in _test_modules(TESTS / "unit"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                asked = {a.arg for a in node.args.args + node.args.kwonlyargs} & INTEGRATION_FIXTURES
                if asked:
                    offenders.setdefault(str(path.relative_to(TESTS)), []).append(f"{node.name}: {sorted(asked)}")
    assert offenders == {}, "a test that needs these belongs in tests/integration"


def test_the_check_sees_every_way_of_importing_a_test_module() -> None:
    source = """
import tests.integration.test_tui
from tests.integration.test_ingest import credit_rows
from .test_faults import serve
from . import test_alerts
from ..conftest import PG_SERVER
from tests.support.console import settle
def f():
    from tests.unit.test_drift import helper
"""
    found = {n for n in _imports(source, ["tests", "integration"]) if _is_test_module(n)}
    assert found == {"tests.integration.test_tui", "tests.integration.test_ingest",
                     "tests.integration.test_ingest.credit_rows", "tests.integration.test_faults",
                     "tests.integration.test_faults.serve", "tests.integration.test_alerts", "tests.conftest",
                     "tests.conftest.PG_SERVER", "tests.unit.test_drift", "tests.unit.test_drift.helper"}
