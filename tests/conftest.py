"""Shared fixtures: isolated XDG folders, tiny trained models, the demo workspace, local HTTP servers.

The demo workspace is built once per session (``demo_master``); ``demo_url`` is a private copy for
one test, ``shared_demo_url`` one copy for a whole module (property tests, whose examples cannot
use function-scoped fixtures). ``http_server`` starts local HTTP servers for a test. Helpers that
are not fixtures (the console app factory, inference rows) live in ``tests/support``.

The workspace fixtures (``demo_url``, ``ws_url``) are SQLite files by default. With
``FUSEBOARD_TEST_POSTGRES`` set to a PostgreSQL server URL (any database on it, e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) they are new PostgreSQL databases
instead, one per test, so the same tests run against both back ends.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import PG_SERVER


def _pg_admin():  # noqa: ANN202
    from sqlalchemy import create_engine

    return create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")


def _pg_database(template: str | None = None) -> str:
    """Create a PostgreSQL database (a copy of ``template``, if given); returns its URL."""
    from sqlalchemy import text

    name = f"fbt_{uuid.uuid4().hex[:16]}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    admin.dispose()
    return f"{PG_SERVER.rsplit('/', 1)[0]}/{name}"


def _pg_drop(url: str) -> None:
    from sqlalchemy import text

    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: tests of SQLite files themselves (backup, disk faults, "
                                       "the upgrade fixture); skipped when the workspaces are PostgreSQL")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if PG_SERVER:
        skip = pytest.mark.skip(reason="a test of SQLite files (FUSEBOARD_TEST_POSTGRES is set)")
        for item in items:
            if "sqlite_only" in item.keywords:
                item.add_marker(skip)


def pytest_report_header(config: pytest.Config) -> str:
    return f"workspaces: {'PostgreSQL at ' + PG_SERVER if PG_SERVER else 'SQLite files'}"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own config and data folders, never the user's."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("FUSEBOARD_USER", "tester")
    monkeypatch.delenv("FUSEBOARD_DB", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return tmp_path


@pytest.fixture(scope="session")
def demo_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fuseboard.ops.demo import build_demo

    return build_demo(tmp_path_factory.mktemp("demo-master") / "demo")


@pytest.fixture
def demo_path(demo_master: Path, tmp_path: Path) -> Path:
    """A private copy of the demo workspace, safe to change."""
    target = tmp_path / "demo"
    shutil.copytree(demo_master, target)
    return target


@pytest.fixture(scope="module")
def shared_demo_url(demo_master: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """One copy of the demo workspace (an SQLite file) for all the tests of a module."""
    target = tmp_path_factory.mktemp("shared-demo") / "demo"
    shutil.copytree(demo_master, target)
    return f"sqlite:///{target / 'demo.db'}"


@pytest.fixture(scope="session")
def pg_demo_template(demo_master: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The demo copied once into a PostgreSQL template database (and its artifacts into a folder)."""
    from fuseboard.ops.workspace import copy_workspace
    from fuseboard.store.db import open_workspace

    url = _pg_database()
    artifacts = tmp_path_factory.mktemp("pg-demo-artifacts")
    source = open_workspace(f"sqlite:///{demo_master / 'demo.db'}", read_only=True)
    target = open_workspace(url, artifact_dir=artifacts)
    copy_workspace(source, target)
    source.close()
    target.close()
    yield url.rsplit("/", 1)[1], artifacts
    _pg_drop(url)


@pytest.fixture
def demo_url(demo_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    if not PG_SERVER:
        yield f"sqlite:///{demo_path / 'demo.db'}"
        return
    template, artifacts = request.getfixturevalue("pg_demo_template")
    url = _pg_database(template)
    from fuseboard.store.db import default_artifact_dir

    shutil.copytree(artifacts, default_artifact_dir(url), dirs_exist_ok=True)  # where this workspace looks
    yield url
    _pg_drop(url)


@pytest.fixture
def credit_files(tmp_path: Path) -> dict[str, Path]:
    """A Pipeline with a OneHotEncoder trained on a DataFrame, plus reference and validation CSVs."""
    import joblib
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(0)
    n = 600
    frame = pd.DataFrame({
        "income": rng.normal(50_000, 12_000, n).round(),
        "age": rng.integers(20, 70, n),
        "region": rng.choice(["north", "south", "east"], n),
    })
    logit = -1 + 0.00003 * (60_000 - frame["income"]) + 0.8 * (frame["region"] == "south")
    frame["default"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    model = Pipeline([
        ("prep", ColumnTransformer([("num", StandardScaler(), ["income", "age"]),
                                    ("cat", OneHotEncoder(handle_unknown="ignore"), ["region"])])),
        ("clf", LogisticRegression()),
    ]).fit(frame.iloc[:300].drop(columns="default"), frame.iloc[:300]["default"])
    paths = {"artifact": tmp_path / "credit.joblib", "reference": tmp_path / "ref.csv",
             "validation": tmp_path / "val.csv"}
    joblib.dump(model, paths["artifact"])
    frame.iloc[300:450].to_csv(paths["reference"], index=False)
    frame.iloc[450:].to_csv(paths["validation"], index=False)
    return paths


@pytest.fixture
def ws_url(tmp_path: Path) -> Iterator[str]:
    if not PG_SERVER:
        yield f"sqlite:///{tmp_path / 'ws' / 'fuseboard.db'}"
        return
    url = _pg_database()
    yield url
    _pg_drop(url)


@pytest.fixture
def http_server() -> Iterator[Callable[..., Any]]:
    """Start local HTTP servers: ``http_server(Handler, version="2")`` serves ``Handler`` on a free port
    of 127.0.0.1 in a thread and returns the server (``.url``, ``.hits``, and the attributes given);
    every server started is stopped after the test."""
    from tests.support.http import serve, stop

    servers: list[Any] = []

    def start(handler: type, **attrs: Any) -> Any:
        servers.append(serve(handler, **attrs))
        return servers[-1]

    yield start
    for server in servers:
        stop(server)


@pytest.fixture
def endpoint(http_server: Callable[..., Any]) -> Any:
    """A model's endpoint on 127.0.0.1 reporting version "2" (``.version`` changes what it reports,
    ``.fail = True`` makes it answer 500; ``.url``)."""
    from tests.support.http import VersionEndpoint

    return http_server(VersionEndpoint, version="2")
