"""A reference too big for the memory the process may use is one line at register (issue 13)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import func, select

from fuseboard.cli import cli
from fuseboard.store.db import open_workspace
from fuseboard.store.models import ModelVersion


def _register(ws_url: str, files: dict[str, Path]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--db", ws_url, "register", "credit", "--artifact", str(files["artifact"]),
                                      "--reference", str(files["reference"]), "--target", "default", "--yes"])
    return result.exit_code, result.output


def _versions(ws_url: str) -> int:
    with open_workspace(ws_url).session() as s:
        return s.exec(select(func.count()).select_from(ModelVersion)).one()


@pytest.mark.parametrize("where", ["read", "profile"])
def test_running_out_of_memory_is_one_line_naming_the_reference(where: str, ws_url: str, credit_files,  # noqa: ANN001
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from fuseboard.monitoring import profiles

    def no_memory(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise MemoryError

    monkeypatch.setattr(*(("pandas.read_csv", no_memory) if where == "read" else
                          (profiles, "build_profile", no_memory)))
    code, output = _register(ws_url, credit_files)
    size = credit_files["reference"].stat().st_size / 1e6
    doing = "read" if where == "read" else "check and profile"
    assert (code, output) == (1, f"error: not enough memory to {doing} {credit_files['reference']} ({size:,.0f} MB); "
                                 f"nothing was registered (--reference)\n")
    assert _versions(ws_url) == 0


CHILD = """
import resource, sys
import pandas, sklearn, fuseboard.cli, fuseboard.ops.registry  # everything imported before the cap
with open("/proc/self/statm") as fh:
    used = int(fh.read().split()[0]) * resource.getpagesize()
resource.setrlimit(resource.RLIMIT_AS, (used + 150 * 2**20, resource.RLIM_INFINITY))
fuseboard.cli.main()
"""


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="address-space limits as Linux applies them")
def test_a_reference_bigger_than_the_memory_cap_is_one_line(ws_url: str, credit_files, tmp_path: Path) -> None:  # noqa: ANN001
    """A real cap (the address space the process may still take: 150 MB) and a reference that needs
    more than that to read: one line, exit 1, no traceback, nothing registered."""
    big = tmp_path / "big.csv"
    row = "50000,40,north," + "x" * 40 + ",0\n"
    with big.open("w") as fh:
        fh.write("income,age,region,note,default\n")
        for start in range(0, 2_000_000, 100_000):
            fh.write("".join(row.replace("x" * 40, f"{i:040d}") for i in range(start, start + 100_000)))
    out = subprocess.run([sys.executable, "-c", CHILD, "--db", ws_url, "register", "credit", "--artifact",
                          str(credit_files["artifact"]), "--reference", str(big), "--target", "default", "--yes"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 1, out.stderr[-2000:]
    assert out.stderr.startswith(f"error: not enough memory to read {big} (") and out.stderr.count("\n") == 1, \
        out.stderr[-2000:]
    assert _versions(ws_url) == 0
