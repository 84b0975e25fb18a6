"""The incident view's "over time" section drawn from made-up periods (no database): the strips, which
features get one, the since line, the ranges' end, the width at 48 periods, and foreign names."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from rich.console import Console

from fuseboard.monitoring.replay import DeploymentHistory, PeriodChecks
from fuseboard.monitoring.result import CheckResult, worst
from fuseboard.tui.widgets.timeline import (LABEL, RANGES, SUFFIX, Range, Timeline, check_statuses,
                                            current_breaches, feature_statuses, range_end, render_timeline,
                                            shown_features, since_line, strip)

T0 = datetime(2026, 11, 29, 0, 5, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
COLORS = {"success": "green", "warning": "yellow", "error": "red", "text-muted": "dim"}


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """Local time is UTC (the labels are local times)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _period(i: int, drift: str = "ok", features: dict[str, tuple[bool, str, float]] | None = None,
            rows: int = 300, perf: str = "ok", every: timedelta = HOUR) -> PeriodChecks:
    """Period ``i`` from T0: the drift check's status and its features as name -> (drifted, severity, score)."""
    if not rows:
        drift = perf = "none"
    scored = [{"feature": name, "method": "psi", "score": score, "threshold": 0.1, "drifted": drifted,
               "severity": severity} for name, (drifted, severity, score) in (features or {}).items()]
    checks = [CheckResult("drift", drift, "", rows, {"features": scored} if drift not in ("none", "error") else {}),
              CheckResult("prediction_drift", "ok" if rows else "none", "", rows),
              CheckResult("performance", perf, "", rows),
              CheckResult("quality", "ok" if rows else "none", "", rows)]
    start = T0 + i * every
    return PeriodChecks(start.isoformat(), (start + every).isoformat(), "1h", 2 if rows else None, rows,
                        12 if rows else 0, 0, worst(c.status for c in checks), checks)


def _timeline(periods: list[PeriodChecks], keys: tuple[str, ...] = (), span: Range = RANGES[0]) -> Timeline:
    history = DeploymentHistory("credit-risk", "prod", 2, "mission-critical", periods[0].start, periods[-1].end,
                                "1h", periods)
    return Timeline(span, history, keys)


def _lines(timeline: Timeline, width: int = 80) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    console.print(render_timeline(timeline, COLORS))
    return console.export_text().splitlines()


def test_the_glyphs_read_without_colour() -> None:
    assert strip(["crit", "warn", "ok", "none", "error"], {}).plain == "✖▲●·?"


def test_a_strip_per_check_and_per_drifted_feature_with_the_axis_and_since() -> None:
    ok, bad = {"income": (False, "ok", 0.02)}, {"income": (True, "crit", 0.41), "age": (True, "warn", 0.12)}
    periods = ([_period(i, rows=0) for i in range(2)] + [_period(i, features=ok) for i in range(2, 19)]
               + [_period(19, "warn", {"income": (True, "warn", 0.15)})]
               + [_period(i, "crit", bad) for i in range(20, 24)])
    lines = _lines(_timeline(periods))
    assert lines[1].startswith("Over time: the last 24h by hour  (times UTC; t: next range)")
    assert lines[2] == "drift            " + "··" + "●" * 17 + "▲" + "✖" * 4 + " ✖ crit"
    assert lines[4] == "performance      " + "··" + "●" * 22 + " ● ok"
    assert lines[6] == "features drifted most recently (no key features set)"
    assert lines[7] == "  income         " + "··" + "●" * 17 + "▲" + "✖" * 4 + " psi 0.41"
    assert lines[8] == "  age            " + "·" * 20 + "▲" * 4 + " psi 0.12"  # scored only where it drifted
    assert lines[9] == " " * 17 + "11-29 00:05" + " " * 2 + "11-30 00:05"
    assert lines[10] == "drift crit since 11-29 20:05, 4 periods; warn from 11-29 19:05"


def test_key_features_get_the_strips_and_unscored_periods_are_dots() -> None:
    periods = [_period(0, rows=0), _period(1, "crit", {"income": (True, "crit", 0.3), "age": (False, "ok", 0.01)})]
    timeline = _timeline(periods, keys=("age", "term_months"))
    assert shown_features(timeline.history, timeline.key_features) == (["age", "term_months"], "key features")
    assert feature_statuses(timeline.history, "age") == ["none", "ok"]
    assert feature_statuses(timeline.history, "term_months") == ["none", "none"]  # scored in no period
    assert feature_statuses(timeline.history, "income") == ["none", "crit"]


def test_without_key_features_the_three_drifted_most_recently_then_most_often() -> None:
    d = (True, "warn", 0.2)
    periods = [_period(0, "warn", {"a": d, "b": d, "c": d}), _period(1, "warn", {"b": d, "c": d}),
               _period(2, "warn", {"d": d}), _period(3, "warn", {"c": d, "e": d})]
    names, heading = shown_features(_timeline(periods).history, ())
    assert names == ["c", "e", "d"]  # 3: c (twice before) and e both last drifted in period 3; then d
    assert heading == "features drifted most recently (no key features set)"
    quiet = [_period(0, features={"a": (False, "ok", 0.01)})]
    assert shown_features(_timeline(quiet).history, ()) == ([], "no feature drifted in this range "
                                                                 "(no key features set)")


def test_periods_without_a_verdict_neither_end_nor_count_in_a_breach() -> None:
    periods = [_period(0), _period(1, "crit"), _period(2, rows=0), _period(3, "crit"), _period(4, rows=0)]
    (breach,) = current_breaches(_timeline(periods).history)
    assert (breach.check, breach.status, breach.since, breach.periods) == ("drift", "crit", 1, 2)
    assert since_line(_timeline(periods)) == "drift crit since 11-29 01:05, 2 periods"


def test_a_breach_from_the_first_period_may_have_begun_before_the_range() -> None:
    periods = [_period(0, "warn"), _period(1, "crit"), _period(2, "crit")]
    assert since_line(_timeline(periods)) == "drift crit since 11-29 01:05, 2 periods; warn from 11-29 00:05 or earlier"
    assert since_line(_timeline([_period(0, "crit")])) == "drift crit since 11-29 00:05 or earlier, 1 period"


def test_the_worst_check_is_named_and_the_others_after_it() -> None:
    periods = [_period(0), _period(1, "warn", perf="crit"), _period(2, "warn", perf="crit")]
    assert since_line(_timeline(periods)) == "performance crit since 11-29 01:05, 2 periods; also drift warn"


def test_when_nothing_is_breached_now_it_says_when_the_last_breach_ended() -> None:
    periods = [_period(0), _period(1, "warn"), _period(2, "crit"), _period(3), _period(4)]
    assert since_line(_timeline(periods)) == "no breach now; the last: drift crit, ended 11-29 03:05"
    assert since_line(_timeline([_period(0), _period(1)])) == "no check breached in the last 24h"
    assert since_line(_timeline([_period(0, rows=0)])) == ("no rows in the last 24h: nothing was ingested with "
                                                           "timestamps in it")
    assert check_statuses(_timeline([_period(0, rows=0)]).history, "drift") == ["none"]


def test_the_range_ends_on_the_next_five_minute_window() -> None:
    assert range_end(datetime(2026, 11, 30, 12, 2, 10, tzinfo=timezone.utc)) == datetime(2026, 11, 30, 12, 5,
                                                                                         tzinfo=timezone.utc)
    on = datetime(2026, 11, 30, 12, 5, tzinfo=timezone.utc)
    assert range_end(on) == on
    assert range_end(on + timedelta(microseconds=1)) == on + timedelta(minutes=5)
    assert [(r.periods, r.every) for r in RANGES] == [(24, HOUR), (28, 6 * HOUR), (30, 24 * HOUR)]


def test_48_periods_and_long_names_fit_80_columns() -> None:
    long = "a_feature_name_far_too_long_for_the_label_column"
    periods = [_period(i, "crit", {long: (True, "crit", 123456.789)}) for i in range(48)]
    lines = _lines(_timeline(periods, span=Range(48 * HOUR, HOUR, "48h by hour")), width=200)
    assert max(len(line.rstrip()) for line in lines) <= LABEL + 1 + 48 + 1 + SUFFIX == 76
    assert "  a_feature_nam… " + "✖" * 48 + " psi 1e+05" in lines


def test_foreign_feature_names_show_their_control_characters() -> None:
    name = "inc\x1b[2Jome"
    periods = [_period(0, "crit", {name: (True, "crit", 0.5)})]
    text = "\n".join(_lines(_timeline(periods)))
    assert "\x1b" not in text and "inc\\x1b[2Jome" in text


@pytest.mark.parametrize("method", ["psi", "ks", "wasserstein", "chisquare", "jensenshannon", "ztest"])
def test_the_latest_score_fits_the_suffix(method: str) -> None:
    from fuseboard.tui.widgets.timeline import _score

    shown = []
    for score in (0.0, 3e-96, 0.00123, 0.0523, 0.892, 0.995, 123.4, 1234.5, 98765.4):
        period = _period(0, "crit", {"f": (True, "crit", score)})
        period.checks[0].details["features"][0]["method"] = method
        shown.append(_score(period, "f"))
    assert max(len(s) for s in shown) <= SUFFIX
    assert [s.split(" ")[-1] for s in shown] == ["0", "3e-96", "0.0012", "0.052", "0.892", "0.995", "123", "1e+03",
                                                 "1e+05"]
