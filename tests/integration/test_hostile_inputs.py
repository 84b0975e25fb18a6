"""The hostile-input catalogue (issue 13, "Done means"): command lines and faults a careless or hostile
user can produce, each run through the real command line (``fuseboard.cli.main``: the FuseboardGroup
catch-all and the one-line usage errors) in-process against a copy of the demo workspace.

Every case asserts what a user sees: the exit code, exactly one line on stderr starting ``error:``,
no traceback and no "unexpected ..." line; and that the workspace did not change: every table's
row count is the same and the audit chain still verifies.

``pytest --collect-only -q tests/integration/test_hostile_inputs.py | tail -1`` shows how many there are.
Every bad duration, time, number and URL of the catalogue is also given to its parser directly
(tests/unit/test_inputs.py); a few of each go through the command lines here.

Other items of issue 13 have their own modules and are left out here: a 2 GB reference file given
to ``register`` (tests/integration/test_registry_memory.py), webhooks that redirect, hang or answer
with a huge body (tests/integration/test_hardening_http.py) and terminal escapes in listings and
exports (tests/integration/test_terminal_text.py). Their one-line refusals that need no server or big file (compact
floors, nested values, control bytes in an error line) are cases here.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support.hostile import BAD_DURATIONS, BAD_TIMES, BAD_URLS, BAD_VERSIONS, BAD_WAITS, BIG, CONTROL, ODD

HANG = 60  # seconds: not a speed bound (a case takes milliseconds) but a stop for one that never ends
FEATURES = ["age", "income", "loan_amount", "term_months", "credit_history_years", "employment", "home_ownership",
            "purpose"]
ROW = ["41", "52000", "12000", "36", "7.5", "full-time", "rent", "car"]


@dataclass(frozen=True)
class Case:
    id: str
    code: int  # the exit code a user must get (1: error, 2: usage)
    needle: str  # what the error line must name: the flag, field or file at fault
    args: tuple[str, ...]


def case(id_: str, code: int, needle: str, *args: str) -> Case:
    return Case(id_, code, needle, args)


# -- the catalogue ------------------------------------------------------------------------------------
# Every bad duration, time, version, wait and URL is refused by its parser (tests/unit/test_inputs.py);
# here a few of each go through every command line that takes one.

CASES: list[Case] = [case(f"silence-for-{k}", 1, "(--for)", "silence", "credit-risk", "--env", "prod", "--for",
                          BAD_DURATIONS[k], "--comment", "x") for k in ("huge", "seconds", "control")]
CASES += [case(f"envs-set-{opt}-{k}", 1, f"(--{opt})", "envs", "set", "dev", f"--{opt}", BAD_DURATIONS[k])
          for opt in ("soak", "converge") for k in ("negative", "over-30-days")]
CASES += [case(f"audit-since-{k}", 1, "(--since)", "audit", "--since", BAD_TIMES[k])
          for k in ("past-9999-in-utc", "huge-age", "odd-unicode")]
CASES += [case(f"history-at-{k}", 1, "(--at)", "history", "credit-risk", "--env", "prod", "--at", BAD_TIMES[k])
          for k in ("first-day", "100kb")]
CASES += [case(f"shift-since-{k}", 1, "(--since)", "shift", "--since", BAD_TIMES[k])
          for k in ("past-9999-in-utc", "word", "empty")]
CASES += [case(f"rota-set-start-{k}", 1, "(--start)", "rota", "set", "it-ops", "--members", "chloe", "--start",
               BAD_TIMES[k]) for k in ("year-0", "past-9999-in-utc", "last-year", "empty")]
CASES += [case(f"rota-shift-{k}", 1, needle, "rota", "shift", "it-ops", "--person", "chloe", "--from", a, "--to", b)
          for k, needle, a, b in (("from-year-0", "(--from)", "0000-01-01", "2026-01-01"),
                                  ("to-past-9999", "(--to)", "9998-12-31T20:00", "9999-12-31T23:59:59-05:00"),
                                  ("to-before-from", "--to", "2026-01-02", "2026-01-01"))]

CASES += [case(f"deploy-version-{k}", 2, "'VERSION'", "deploy", "credit-risk", BAD_VERSIONS[k], "--env", "dev",
               "--yes") for k in ("exponent", "past-int32", "empty")]
CASES += [case("deploy-version-negative", 2, "-1", "deploy", "credit-risk", "-1", "--env", "dev", "--yes")]
CASES += [case(f"signoff-version-{k}", 2, "'VERSION'", "signoff", "credit-risk", BAD_VERSIONS[k], "--as", "it")
          for k in ("huge", "zero")]
CASES += [case(f"rollback-to-{k}", 2, "'--to'", "rollback", "credit-risk", "--env", "prod", "--to", BAD_VERSIONS[k],
               "--reason", "x", "--yes") for k in ("exponent", "zero")]
CASES += [case("deploy-version-that-does-not-exist", 1, "2147483647", "deploy", "credit-risk", "2147483647",
               "--env", "dev", "--yes")]

CASES += [case(f"deploy-wait-{k}", 2, "'--wait'", "deploy", "credit-risk", "2", "--env", "dev", "--wait", BAD_WAITS[k],
               "--yes") for k in ("nan", "overflow", "negative")]
CASES += [case(f"envs-set-hook-timeout-{k}", 2, "'--hook-timeout'", "envs", "set", "dev", "--hook-command",
               '["true"]', "--hook-timeout", v)
          for k, v in (("inf", "inf"), ("zero", "0"), ("huge", "1e30"), ("huge-integer", "9" * 40), ("negative", "-1"),
                       ("word", "x"))]
CASES += [case("envs-set-hook-timeout-nan", 1, "hook.timeout", "envs", "set", "dev", "--hook-command", '["true"]',
               "--hook-timeout", "nan")]
CASES += [case(f"monitoring-set-{k}", code, needle, "monitoring", "set", "credit-risk", *args)
          for k, code, needle, args in (
    ("threshold-nan", 1, "--threshold", ("--threshold", "income=nan")),
    ("threshold-inf", 1, "--threshold", ("--threshold", "income=inf")),
    ("threshold-negative", 1, "--threshold", ("--threshold", "income=-1")),
    ("threshold-word", 1, "--threshold", ("--threshold", "income=high")),
    ("threshold-unknown-feature", 1, "--threshold", ("--threshold", "nosuch=0.2")),
    ("threshold-no-value", 1, "--threshold", ("--threshold", "income")),
    ("gate-nan", 1, "--gate", ("--gate", "roc_auc=nan")), ("gate-overflow", 1, "--gate", ("--gate", "roc_auc=1e400")),
    ("gate-bad-metric", 1, "--gate", ("--gate", "roc auc=0.8")),
    ("tolerance-inf", 1, "--tolerance", ("--tolerance", "roc_auc=abs:inf")),
    ("tolerance-bad-kind", 1, "--tolerance", ("--tolerance", "roc_auc=xyz:0.1")),
    ("tolerance-no-kind", 1, "--tolerance", ("--tolerance", "roc_auc=0.1")),
    ("drift-share-nan", 1, "--drift-share", ("--drift-share", "nan")),
    ("drift-share-inf", 1, "--drift-share", ("--drift-share", "inf")),
    ("drift-share-zero", 1, "--drift-share", ("--drift-share", "0")),
    ("drift-share-word", 2, "--drift-share", ("--drift-share", "half")),
    ("min-rows-huge", 2, "--min-rows", ("--min-rows", "9" * 30)),
    ("min-rows-zero", 2, "--min-rows", ("--min-rows", "0")),
    ("min-labelled-exponent", 2, "--min-labelled", ("--min-labelled", "1e5")),
    ("failures-to-alert-huge", 2, "--failures-to-alert", ("--failures-to-alert", "99999999999999999999")),
    ("drift-window-huge", 2, "--drift-window-minutes", ("--drift-window-minutes", "99999999999999999999999")),
    ("drift-window-too-small", 2, "--drift-window-minutes", ("--drift-window-minutes", "1")),
    ("method-unknown", 1, "--method", ("--method", "income=magic")),
)]
CASES += [case(f"audit-limit-{k}", 2, "'--limit'", "audit", "--limit", v)
          for k, v in (("negative", "-1"), ("zero", "0"), ("huge", "10" + "0" * 30), ("word", "all"))]
CASES += [case("history-limit-huge", 2, "'--limit'", "history", "credit-risk", "--env", "prod", "--limit", "9" * 25)]
CASES += [case(f"alerts-{cmd}-id-{k}", 2, "'ALERT_ID'", "alerts", cmd, v, *(("--note", "x") if cmd == "resolve" else ()))
          for cmd in ("ack", "resolve") for k, v in (("huge", "99999999999999999999999"), ("zero", "0"),
                                                      ("word", "first"))]
CASES += [case("alerts-ack-id-that-does-not-exist", 1, "2147483647", "alerts", "ack", "2147483647")]
CASES += [case(f"monitor-{opt}-{k}", 2, f"'--{opt}'", "monitor", f"--{opt}", v)
          for opt, k, v in (("health-every", "huge", "99999999999999999999999"), ("health-every", "zero", "0"),
                            ("drift-every", "nan", "nan"), ("lease-ttl", "huge", "9" * 20))]
CASES += [case(f"rota-set-length-{k}", 2, "'--length'", "rota", "set", "it-ops", "--members", "chloe", "--start",
               "2026-01-01", "--length", v) for k, v in (("10-to-the-30", "1" + "0" * 30), ("zero", "0"), ("negative", "-1"))]
CASES += [case(f"register-retrain-by-{k}", 2, "'--retrain-by'", "register", "credit-risk", "--artifact",
               "{files}/empty.joblib", "--reference", "{files}/header.csv", "--target", "y", "--retrain-by", v)
          for k, v in (("year-0", "0000-01-01"), ("not-a-date", "31/12/2026"), ("100kb", BIG))]

CASES += [case(f"deploy-endpoint-{k}", 1, "(endpoint)", "deploy", "credit-risk", "3", "--env", "dev", "--endpoint",
               BAD_URLS[k], "--yes") for k in ("ipv6-unclosed", "port-past-65535", "control", "javascript")]
CASES += [case(f"envs-set-hook-webhook-{k}", 1, "hook.webhook", "envs", "set", "dev", "--hook-webhook", BAD_URLS[k])
          for k in ("ipv6-unclosed", "port-past-65535", "ftp", "no-host", "space")]
CASES += [case("envs-set-hook-command-not-json", 1, "--hook-command", "envs", "set", "dev", "--hook-command",
               "deployer {model}"),
          case("envs-set-hook-command-empty-list", 1, "hook.command", "envs", "set", "dev", "--hook-command", "[]"),
          case("envs-set-hook-command-bad-placeholder", 1, "hook.command", "envs", "set", "dev", "--hook-command",
               '["x", "{nope}"]'),
          case("envs-set-hook-command-lone-brace", 1, "hook.command", "envs", "set", "dev", "--hook-command",
               '["x", "{"]'),
          case("envs-set-unknown-env", 1, "nosuch", "envs", "set", "nosuch", "--soak", "1h")]

BAD_NAMES = {"empty": "", "blank": " ", "100kb": BIG, "control": CONTROL, "newline": "a\nb", "path": "../../etc/passwd",
             "odd-unicode": ODD, "emoji": "\U0001f4a5"}
CASES += [case(f"models-show-{k}", 1, "model", "models", "show", v) for k, v in BAD_NAMES.items()]
CASES += [case(f"teams-add-{k}", 1, "team name", "teams", "add", v, "--kind", "data-science")
          for k, v in BAD_NAMES.items() if k != "emoji"]
CASES += [case(f"deploy-model-{k}", 1, "model", "deploy", BAD_NAMES[k], "1", "--env", "dev", "--yes")
          for k in ("100kb", "control")]
CASES += [case(f"deploy-env-{k}", 1, "environment", "deploy", "credit-risk", "1", "--env", BAD_NAMES[k], "--yes")
          for k in ("empty", "100kb", "newline")]
CASES += [case(f"people-add-{k}", 1, "person name", "people", "add", v, "--name", "N", "--team", "it-ops")
          for k, v in (("empty", ""), ("path", "../x"), ("100kb", BIG))]
CASES += [case("silence-comment-blank", 1, "--comment", "silence", "credit-risk", "--env", "prod", "--for", "1h",
               "--comment", " ")]

INGEST_FILES = ["empty.csv", "header.csv", "garbage.csv", "wrongtypes.csv", "ragged.csv", "hugeheader.csv",
                "nul.csv", "missing-columns.csv", "empty.parquet", "garbage.parquet", "truncated.parquet",
                "wrongtypes.parquet", "norows.parquet", "empty.jsonl", "garbage.jsonl", "not-objects.jsonl", "cut.jsonl",
                "wrongtypes.jsonl", "rows.txt", "rows.xlsx", "no-extension", "folder.csv", "fifo.csv", "missing.csv"]
CASES += [case(f"ingest-{name}", 1, name, "ingest", "credit-risk", f"{{files}}/{name}", "--env", "prod")
          for name in INGEST_FILES]
CASES += [case(f"ingest-{k}", 1, path, "ingest", "credit-risk", path, "--env", "prod")
          for k, path in (("dev-zero", "/dev/zero"), ("dev-null", "/dev/null"), ("proc-self-mem", "/proc/self/mem"))]
CASES += [case(f"ingest-labels-{name}", 1, name, "ingest-labels", "credit-risk", f"{{files}}/{name}", "--env", "prod")
          for name in ("empty.csv", "garbage.csv", "header.csv", "wrongtypes.jsonl", "fifo.csv")]
CASES += [case(f"register-artifact-{name}", 1, name, "register", "credit-risk", "--artifact", f"{{files}}/{name}",
               "--reference", "{files}/reference.csv", "--target", "label")
          for name in ("empty.joblib", "garbage.joblib", "dict.joblib", "folder.csv", "fifo.csv", "missing.joblib")]
CASES += [case(f"register-reference-{name}", 1, name, "register", "credit-risk", "--artifact", "{artifact}",
               "--reference", f"{{files}}/{name}", "--target", "label")
          for name in ("empty.csv", "header.csv", "garbage.csv", "fifo.csv")]
CASES += [case("register-reference-dev-zero", 1, "/dev/zero", "register", "credit-risk", "--artifact", "{artifact}",
               "--reference", "/dev/zero", "--target", "label"),
          case("register-target-missing", 1, "--target", "register", "credit-risk", "--artifact", "{artifact}",
               "--reference", "{files}/reference.csv", "--target", "nosuch")]
CASES += [case(f"ingest-{name}", 1, "nested", "ingest", "credit-risk", f"{{files}}/{name}", "--env", "prod")
          for name in ("nested.jsonl", "nested.parquet")]
CASES += [case(f"compact-{k}", 1, needle, "compact", *args, "--yes") for k, needle, args in (
    ("delete-after-an-hour", "(--delete-after)", ("--delete-after", "1h")),
    ("hourly-after-zero", "(--hourly-after)", ("--hourly-after", "0m")),
    ("hourly-after-past-calendar", "(--hourly-after)", ("--hourly-after", "99999999999d")),
    ("daily-after-below-floor", "(--daily-after)", ("--daily-after", "1h")),
    ("delete-after-word", "(--delete-after)", ("--delete-after", "never")))]
CASES += [case("backup-onto-a-folder", 1, "exists", "backup", "{files}"),
          case("backup-into-proc", 1, "/proc/nosuch", "backup", "/proc/nosuch/x.db")]

# -- faults of the database itself (the damaged copies are made by the fixture) -----------------------
DB_FAULTS = [
    case("db-flipped-bytes-audit-verify", 1, "damaged", "--db", "sqlite:///{bad}/flipped.db", "audit", "verify"),
    case("db-flipped-bytes-audit", 1, "damaged", "--db", "sqlite:///{bad}/flipped.db", "audit", "--limit", "1000"),
    case("db-truncated", 1, "damaged", "--db", "sqlite:///{bad}/truncated.db", "models"),
    case("db-garbage", 1, "not a database", "--db", "sqlite:///{bad}/garbage.db", "models"),
    case("db-text-file", 1, "not a database", "--db", "sqlite:///{bad}/text.db", "teams", "add", "x", "--kind",
         "data-science"),
    case("db-empty-file", 1, "no workspace", "--db", "sqlite:///{bad}/empty.db", "models"),
    case("db-folder", 1, "folder", "--db", "sqlite:///{bad}", "models"),
    case("db-fifo", 1, "FIFO", "--db", "sqlite:///{bad}/fifo.db", "models"),
    case("db-dev-zero", 1, "device", "--db", "sqlite:////dev/zero", "models"),
    case("db-dev-null-write", 1, "device", "--db", "sqlite:////dev/null", "teams", "add", "x", "--kind",
         "data-science"),
    case("db-proc-create", 1, "/proc/x.db", "--db", "sqlite:////proc/x.db", "teams", "add", "x", "--kind",
         "data-science"),
    case("db-proc-self-mem", 1, "/proc/self/mem", "--db", "sqlite:////proc/self/mem", "models"),
    case("db-proc-self-mem-as-path", 1, "not a database URL", "--db", "/proc/self/mem", "models"),
    case("db-missing-folder", 1, "no workspace", "--db", "sqlite:///{bad}/nosuch/x.db", "models"),
    case("db-url-ipv6-unclosed", 1, "not a database URL", "--db", "postgresql+psycopg://u@[::1/x", "models"),
    case("db-url-unknown-driver", 1, "nosuchdb", "--db", "nosuchdb://host/x", "models"),
    case("db-url-unknown-sqlite-driver", 1, "nosuch", "--db", "sqlite+nosuch:///{bad}/text.db", "models"),
    case("db-url-100kb", 1, "--db", "--db", "sqlite:///" + BIG, "models"),
    case("db-url-control", 1, "no workspace", "--db", "sqlite:///" + CONTROL, "models"),
]

# -- config.toml ----------------------------------------------------------------------------------------
BAD_CONFIGS = {
    "not-toml": b'db = "unterminated\n', "binary": bytes(range(256)) * 4, "100kb": b"x" * 100_000,
    "db-number": b"db = 5\n", "theme-list": b"theme = []\n", "read-only-word": b'read_only = "yes"\n',
    "keymap-string": b'keymap = "f"\n', "keymap-number": b'[keymap]\n"app.quit" = 5\n',
    "environments-number": b"[environments]\nprod = 5\n", "allow-string": b'[environments.prod]\nallow = "bob"\n',
    "notify-number": b"[notify]\nwebhook = 5\n", "latin1": 'theme = "caf\xe9"\n'.encode("latin-1"),
    "db-ipv6-unclosed": b'db = "postgresql+psycopg://u@[::1/x"\n', "db-in-proc": b'db = "sqlite:////proc/nosuch/x.db"\n',
    "group-unknown": b'group = "no-such-group-fuseboard"\n',
}
CONFIG_NEEDLES = {"db-ipv6-unclosed": "not a database URL", "db-in-proc": "/proc/nosuch", "group-unknown": "group"}
# the database named by the config file itself: no --db on the command line ("" falls through to it)
CONFIG_CASES = [case(f"config-{k}", 1, CONFIG_NEEDLES.get(k, "config.toml"),
                     *(("--db", "") if k.startswith("db-") else ()), "teams", "add", "x", "--kind", "data-science")
                for k in BAD_CONFIGS]
CONFIG_CASES += [case("config-is-a-folder", 1, "config.toml", "models")]


# -- fixtures ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory, demo_master: Path) -> dict[str, str]:
    """A copy of the demo workspace, a folder of hostile files and a folder of damaged databases."""
    import joblib
    import pandas as pd

    root = tmp_path_factory.mktemp("hostile")
    shutil.copytree(demo_master, root / "demo")
    files = root / "files"
    files.mkdir()
    rng = __import__("random").Random(13)
    garbage = bytes(rng.randrange(256) for _ in range(4096))
    header = ",".join(FEATURES + ["prediction"])
    good = pd.DataFrame([dict(zip(FEATURES, ROW)) | {"prediction": 1}] * 3)
    good[FEATURES[:5]] = good[FEATURES[:5]].astype(float)
    text = {
        "empty.csv": "", "header.csv": header + "\n", "wrongtypes.csv": header + "\n" + ",".join(["abc"] * 9) + "\n",
        "ragged.csv": header + "\n" + ",".join(ROW + ["1", "extra", "more"]) + "\n", "hugeheader.csv": "x" * 100_000 + "\n1\n",
        "missing-columns.csv": "age,income\n1,2\n", "empty.jsonl": "", "not-objects.jsonl": '[1, 2]\n"x"\n',
        "cut.jsonl": '{"age": 41, "income": 5', "rows.txt": header + "\n", "rows.xlsx": "PK\x03\x04",
        "no-extension": header + "\n", "empty.parquet": "", "empty.joblib": "",
        "wrongtypes.jsonl": json.dumps(dict(zip(FEATURES, ["old", "rich", "x", "y", "z", 1, 2, 3])) | {"prediction": 1})
        + "\n", "reference.csv": ",".join(FEATURES + ["label"]) + "\n" + ",".join(ROW + ["1"]) + "\n",
    }
    for name, body in text.items():
        (files / name).write_text(body, encoding="utf-8")
    for name in ("garbage.csv", "garbage.parquet", "garbage.jsonl", "garbage.joblib"):
        (files / name).write_bytes(garbage)
    (files / "nul.csv").write_bytes((header + "\n").encode() + b"4\x001,52000,12000,36,7.5,full-time,rent,car,1\n")
    good.to_parquet(files / "ok.parquet")
    whole = (files / "ok.parquet").read_bytes()
    (files / "truncated.parquet").write_bytes(whole[: len(whole) // 2])
    good.head(0).to_parquet(files / "norows.parquet")
    good.assign(age=[[1], [2], [3]]).to_parquet(files / "nested.parquet")
    (files / "nested.jsonl").write_text(json.dumps(dict(zip(FEATURES, ROW)) | {"age": [1], "prediction": 1}) + "\n")
    good.astype(str).assign(age="old").to_parquet(files / "wrongtypes.parquet")
    joblib.dump({"not": "an estimator"}, files / "dict.joblib")
    (files / "folder.csv").mkdir()
    os.mkfifo(files / "fifo.csv")

    bad = root / "bad"
    bad.mkdir()
    demo_db = demo_master / "demo.db"
    flipped = bad / "flipped.db"
    shutil.copyfile(demo_db, flipped)
    _flip_audit_pages(flipped)
    (bad / "truncated.db").write_bytes(demo_db.read_bytes()[:100_000])
    (bad / "garbage.db").write_bytes(garbage)
    (bad / "text.db").write_text("hello\n")
    (bad / "empty.db").write_bytes(b"")
    os.mkfifo(bad / "fifo.db")
    artifact = next((demo_master / "demo-artifacts").rglob("*.joblib"))
    from fuseboard.store.audit import verify
    from fuseboard.store.db import open_workspace

    ws = open_workspace(f"sqlite:///{root / 'demo' / 'demo.db'}", read_only=True)
    assert verify(ws).ok  # every case then checks that the audit table is still exactly this one
    ws.close()
    return {"ws": f"sqlite:///{root / 'demo' / 'demo.db'}", "db_path": str(root / "demo" / "demo.db"),
            "files": str(files), "bad": str(bad), "artifact": str(artifact)}


def _flip_audit_pages(path: Path) -> None:
    """A few bytes flipped in the middle of the file: the header of two of the audit table's pages."""
    con = sqlite3.connect(path)
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'auditevent'").fetchone()[0]
    size = con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    with path.open("r+b") as fh:  # the root page (an interior page of the b-tree, or its only leaf)
        fh.seek((root - 1) * size)
        head = fh.read(8)
        fh.seek((root - 1) * size)
        fh.write(bytes(b ^ 0x5A for b in head))


# -- running one command line the way the console script does ------------------------------------------

def run_cli(args: list[str]) -> tuple[int, str, str]:
    """``fuseboard ARGS`` in-process through ``fuseboard.cli.main`` (usage errors, the FuseboardGroup
    catch-all and its exit codes included); stdin is empty and not a terminal."""
    from fuseboard.cli import main

    def hung(_signum: int, _frame: object) -> None:
        raise AssertionError(f"fuseboard {' '.join(a[:40] for a in args)} still runs after {HANG} s (a FIFO or "
                             "a device read without end?)")

    saved = sys.argv
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(HANG)
    with CliRunner().isolation() as (out, err, _):
        sys.argv = ["fuseboard", *args]
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
            sys.argv = saved
        return code, out.getvalue().decode("utf-8", "replace"), err.getvalue().decode("utf-8", "replace")


def state(db_path: str) -> tuple[dict[str, int], str]:
    """Every table's row count, and a digest of every audit event as stored. The fixture verified the
    chain once; an audit table identical to that one still verifies (read with sqlite3 directly, so
    the check costs milliseconds, not a workspace opening, per case)."""
    import hashlib

    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        counts = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        digest = hashlib.sha256()
        for row in con.execute("SELECT * FROM auditevent ORDER BY id"):
            digest.update(repr(row).encode())
    finally:
        con.close()
    return counts, digest.hexdigest()


def assert_refused(hostile: dict[str, str], c: Case) -> None:
    args = list(c.args)
    for key in ("files", "bad", "artifact"):
        args = [a.replace("{" + key + "}", hostile[key]) for a in args]
    if args[:1] != ["--db"]:
        args = ["--db", hostile["ws"], *args]
    before = state(hostile["db_path"])
    code, out, err = run_cli(args)
    shown = f"exit {code}\nstdout: {out[:500]!r}\nstderr: {err[:500]!r}"
    assert "Traceback" not in out + err, shown
    assert "unexpected" not in out + err, shown
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), shown
    assert c.needle in lines[0], f"the error line does not name {c.needle!r}: " + shown
    assert code == c.code, shown
    assert state(hostile["db_path"]) == before, "the workspace changed: " + shown


@pytest.mark.parametrize("c", CASES + DB_FAULTS, ids=lambda c: c.id)
def test_hostile_command_line_is_refused_in_one_line(hostile: dict[str, str], c: Case) -> None:
    assert_refused(hostile, c)


@pytest.mark.parametrize("c", CONFIG_CASES, ids=lambda c: c.id)
def test_hostile_config_file_is_one_line(hostile: dict[str, str], c: Case, isolated_home: Path) -> None:
    path = isolated_home / "config" / "fuseboard" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    key = c.id.removeprefix("config-")
    if key == "is-a-folder":
        path.mkdir()
    else:
        path.write_bytes(BAD_CONFIGS[key])
    assert_refused(hostile, c)


def test_a_damaged_database_names_the_file_and_how_to_restore_it(hostile: dict[str, str]) -> None:
    path = f"{hostile['bad']}/flipped.db"
    code, out, err = run_cli(["--db", f"sqlite:///{path}", "audit", "verify"])
    assert (code, out) == (1, "")
    assert err == (f"error: the workspace database is damaged ({path}): database disk image is malformed; restore it "
                   f"from a backup (fuseboard backup), or salvage what is left with: sqlite3 {path} .recover\n")
