"""The built wheel carries the themes and sample data, and finds them without a checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support import ROOT



@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
                   check=True, capture_output=True)
    return next(out.glob("fuseboard-*.whl"))


def test_wheel_contains_themes_sample_data_and_migrations(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for theme in (ROOT / "themes").glob("*.toml"):
        assert f"fuseboard/_data/themes/{theme.name}" in names
    for sample in (ROOT / "sample_data").glob("*.csv"):
        assert f"fuseboard/_data/sample_data/{sample.name}" in names
    assert "fuseboard/store/migrations/versions/0001_initial.py" in names
    assert "fuseboard/tui/app.tcss" in names


def test_installed_wheel_finds_its_data_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = ("from fuseboard.config import resource_dir; "
            "print(resource_dir('themes')); print(resource_dir('sample_data'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=tmp_path, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"})
    themes, samples = out.stdout.split()
    assert Path(themes) == site / "fuseboard" / "_data" / "themes"
    assert (Path(samples) / "credit_risk.csv").exists()
