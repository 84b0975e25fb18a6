"""A deployment over time, in the incident view: one strip of per-period verdicts for each window check,
one for each key feature's drift, a time axis, and when the current bad state started.

``fuseboard report`` (``ops.report.report``) gives the verdicts period by period; this draws them as
rows of status glyphs, one cell per period (``✖`` crit, ``▲`` warn, ``●`` ok, ``?`` error, a dim ``·``
for no verdict or no rows), so that they read without colour. The ranges: the last 24 hours by hour,
7 days by 6 hours, 30 days by day, each ending at now rounded up to the next five-minute window.

``TimelineView`` reads the report in a thread worker of its own (the incident at the top of the view
does not wait for it) and draws only the newest load's result.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.text import Text
from textual.message import Message
from textual.widgets import Static
from textual.worker import Worker, get_current_worker

from fuseboard.clock import utcnow
from fuseboard.text import visible

if TYPE_CHECKING:
    from fuseboard.ops.connect import Workspace
    from fuseboard.ops.report import DeploymentHistory, PeriodChecks

WINDOW = timedelta(minutes=5)  # a stored window: the ranges end on one's boundary
CHECKS = (("drift", "drift"), ("multivariate_drift", "multivariate"), ("prediction_drift", "prediction drift"),
          ("estimated_performance", "estimated perf"), ("performance", "performance"), ("quality", "quality"))
OPTIONAL_ROWS = ("multivariate_drift", "estimated_performance")  # shown only when some period has a verdict
LABEL = 16  # the label column: "prediction drift"
WIDTH = 76  # the section's lines at most (80 columns less the view's padding and scroll bar)
SUFFIX = 10  # what the last period says, after the strip: 16 + 1 + 48 + 1 + 10 = 76 cells at most
MOST_DRIFTED = 3  # features shown when the model has no key features
GLYPHS = {"crit": ("✖", "error"), "warn": ("▲", "warning"), "ok": ("●", "success"), "error": ("?", "error")}
NONE = "·"  # no verdict (too few rows, no labels) or no rows: dim
BAD = ("warn", "crit", "error")
RANK = {"none": 0, "ok": 1, "warn": 2, "error": 3, "crit": 4}
# the latest score's method, short (the drift table below names it in full)
SHORT_METHOD = {"wasserstein": "wd", "jensenshannon": "js", "chisquare": "χ²", "ztest": "z"}


@dataclass(frozen=True)
class Range:
    """How far back the view looks and how long each period is."""

    span: timedelta
    every: timedelta
    words: str  # "24h by hour"

    @property
    def periods(self) -> int:
        return self.span // self.every


RANGES = (Range(timedelta(hours=24), timedelta(hours=1), "24h by hour"),
          Range(timedelta(days=7), timedelta(hours=6), "7d by 6 hours"),
          Range(timedelta(days=30), timedelta(days=1), "30d by day"))


def range_end(now: datetime) -> datetime:
    """``now`` rounded up to the next five-minute window boundary (UTC); unchanged on a boundary."""
    step = WINDOW.total_seconds()
    return datetime.fromtimestamp(math.ceil(now.timestamp() / step) * step, timezone.utc)


@dataclass(frozen=True)
class Timeline:
    """What the section draws: the report over the range and the model's key features (empty: none set)."""

    range: Range
    history: DeploymentHistory
    key_features: tuple[str, ...]


def fetch_timeline(ws: Workspace, model: str, env: str, span: Range, now: datetime) -> Timeline:
    """The report of ``model`` in ``env`` over ``span`` ending at ``range_end(now)`` (read-only).

    Parameters
    ----------
    ws : Workspace
    model, env : str
    span : Range
        One of ``RANGES``.
    now : datetime
        Aware.

    Returns
    -------
    timeline : Timeline
        ``span.periods`` periods, oldest first.
    """
    from fuseboard.ops.report import report
    from fuseboard.ops.views import model_settings

    end = range_end(now)
    history = report(ws, model, env, end - span.span, end, span.every)
    keys = tuple(model_settings(ws, model).monitoring.get("key_features", ()))
    return Timeline(span, history, keys)


# -- reading the periods ------------------------------------------------------------------------------

def check_statuses(history: DeploymentHistory, check: str) -> list[str]:
    """``check``'s status in each period (``none`` where it has no verdict or was not run)."""
    out = []
    for p in history.periods:
        found = next((c for c in p.checks if c.check == check), None)
        out.append(found.status if found is not None else "none")
    return out


def feature_statuses(history: DeploymentHistory, feature: str) -> list[str]:
    """``feature``'s drift in each period: its severity where it drifted, ``ok`` where it was scored and did
    not, ``none`` where the drift check scored nothing (too few rows, no rows)."""
    out = []
    for p in history.periods:
        scored = _feature(p, feature)
        out.append("none" if scored is None else (scored.get("severity") or "warn") if scored["drifted"] else "ok")
    return out


def _feature(period: PeriodChecks, feature: str) -> dict[str, Any] | None:
    drift = next((c for c in period.checks if c.check == "drift"), None)
    if drift is None or drift.status in ("none", "error"):
        return None
    return next((f for f in drift.details.get("features", []) if f.get("feature") == feature), None)


def shown_features(history: DeploymentHistory, key_features: Sequence[str]) -> tuple[list[str], str]:
    """The features that get a strip, and the heading above them.

    The model's key features when it has any; otherwise up to ``MOST_DRIFTED`` features that drifted in
    the range, the most recently drifted first (then the most often, then by name).
    """
    if key_features:
        return list(key_features), "key features"
    last: dict[str, int] = {}
    count: dict[str, int] = {}
    for i, p in enumerate(history.periods):
        drift = next((c for c in p.checks if c.check == "drift"), None)
        if drift is None or drift.status in ("none", "error"):
            continue
        for f in drift.details.get("features", []):
            if f.get("drifted"):
                last[f["feature"]] = i
                count[f["feature"]] = count.get(f["feature"], 0) + 1
    ranked = sorted(last, key=lambda name: (-last[name], -count[name], name))[:MOST_DRIFTED]
    if not ranked:
        return [], "no feature drifted in this range (no key features set)"
    return ranked, "features drifted most recently (no key features set)"


@dataclass(frozen=True)
class Breach:
    """A check's current bad state: its status, the periods it has held it, and where the breach began."""

    check: str
    status: str
    since: int  # index of the first period of the current status (periods without a verdict between skipped)
    periods: int  # periods with the current status since then
    breached_from: int  # index of the first period of the breach (an earlier, milder bad status included)


def current_breaches(history: DeploymentHistory) -> list[Breach]:
    """Each check whose latest verdict is warn, crit or error, worst first (then the oldest first).

    The latest verdict is the last period's that has one; periods without a verdict (no rows, too few)
    neither end a run nor count in it.
    """
    found = []
    for check, _ in CHECKS:
        statuses = check_statuses(history, check)
        judged = [i for i, s in enumerate(statuses) if s != "none"]
        if not judged or statuses[judged[-1]] not in BAD:
            continue
        status = statuses[judged[-1]]
        same = [i for i in _run(statuses, judged, {status})]
        bad = [i for i in _run(statuses, judged, set(BAD))]
        found.append(Breach(check, status, same[-1], len(same), bad[-1]))
    return sorted(found, key=lambda b: (-RANK[b.status], b.breached_from, b.since))


def _run(statuses: list[str], judged: list[int], wanted: set[str]) -> list[int]:
    """The judged periods from the last one back, while their status is in ``wanted`` (newest first)."""
    out = []
    for i in reversed(judged):
        if statuses[i] not in wanted:
            break
        out.append(i)
    return out


def last_breach(history: DeploymentHistory) -> tuple[int, str, str] | None:
    """(period index, check, status) of the latest period with a breached check, the worst check in it."""
    for i in range(len(history.periods) - 1, -1, -1):
        bad = [(c.check, c.status) for c in history.periods[i].checks if c.status in BAD]
        if bad:
            check, status = max(bad, key=lambda cs: RANK[cs[1]])
            return i, check, status
    return None


# -- drawing ---------------------------------------------------------------------------------------------

def moment(at: str | datetime) -> str:
    """A period boundary in local time: ``11-29 14:00``."""
    when = datetime.fromisoformat(at) if isinstance(at, str) else at
    return when.astimezone().strftime("%m-%d %H:%M")


def check_word(check: str) -> str:
    return dict(CHECKS).get(check, check)


def since_line(timeline: Timeline) -> str:
    """One line of at most ``WIDTH`` characters: which check is bad now and since when (``drift crit since
    11-29 02:00, 5 periods``, and when the breach began if it was milder then), or that none is, and when
    the last breach ended."""
    history, words = timeline.history, f"the last {timeline.range.words.split(' by ')[0]}"
    periods = history.periods
    if not any(p.rows for p in periods):
        return f"no rows in {words}: nothing was ingested with timestamps in it"
    breaches = current_breaches(history)
    if not breaches:
        last = last_breach(history)
        if last is None:
            return f"no check breached in {words}"
        index, check, status = last
        return f"no breach now; the last: {check_word(check)} {status}, ended {moment(periods[index].end)}"
    b = breaches[0]

    def at(index: int) -> str:  # the range's first period: the state may have begun before it
        return moment(periods[index].start) + (" or earlier" if index == 0 else "")

    plural = "s" if b.periods != 1 else ""
    line = f"{check_word(b.check)} {b.status} since {at(b.since)}, {b.periods} period{plural}"
    if b.breached_from < b.since:  # a milder breach before it: when the breach began
        first = check_statuses(history, b.check)[b.breached_from]
        clause = f"; {first} from {at(b.breached_from)}"
        line += clause if len(line + clause) <= WIDTH else f"; {first} from {moment(periods[b.breached_from].start)}"
    others = [f"{check_word(o.check)} {o.status}" for o in breaches[1:]]
    while others and len(line) + len(", ".join(others)) + 7 > WIDTH:  # the worst others that fit
        others.pop()
    if others:
        line += f"; also {', '.join(others)}"
    return line


def strip(statuses: Sequence[str], colors: dict[str, str]) -> Text:
    """One cell per period: the status glyph in its colour, a dim ``·`` where there is no verdict."""
    out = Text(no_wrap=True, end="")
    for status in statuses:
        glyph, var = GLYPHS.get(status, (NONE, ""))
        out.append(glyph, style=colors.get(var, "") if var else "dim")
    return out


def _label(text: str, indent: int = 0) -> Text:
    shown = " " * indent + visible(text)
    if len(shown) > LABEL:
        shown = shown[:LABEL - 1] + "…"
    return Text(shown.ljust(LABEL) + " ")


def _suffix(text: str, style: str = "") -> Text:
    return Text(" " + (text if len(text) <= SUFFIX else text[:SUFFIX - 1] + "…"), style=style)


def _score(period: PeriodChecks, feature: str) -> str:
    scored = _feature(period, feature)
    if scored is None:
        return ""
    method, score = scored.get("method", ""), float(scored["score"])
    size = abs(score)
    shown = f"{score:.0e}" if score and (size < 1e-3 or size >= 1e3) else f"{score:.2g}" if size < 0.1 else \
        f"{score:.3g}"  # at most 7 characters
    return f"{SHORT_METHOD.get(method, method)} {shown}"


def axis(history: DeploymentHistory) -> Text:
    """The first period's start under the first cell, the last one's end under the last cell."""
    width = len(history.periods)
    first, last = moment(history.periods[0].start), moment(history.periods[-1].end)
    if width < len(first) + len(last) + 1:  # too narrow for both dates: the times only
        first, last = first[-5:], last[-5:]
    gap = max(1, width - len(first) - len(last))
    return Text(" " * (LABEL + 1) + first + " " * gap + last, style="dim")


def render_timeline(timeline: Timeline | None, colors: dict[str, str], *, span: Range = RANGES[0],
                    error: str | None = None) -> Group:
    """The "over time" section: a title, a strip per check and per shown feature, the axis, the since line.

    Parameters
    ----------
    timeline : Timeline or None
        None while it loads (or when it could not be read: ``error``).
    colors : dict of str to str
        The theme's status colours (``app.theme_colors()``).
    span : Range
        The range asked for (the title says it while it loads).
    error : str, optional
        Why the report could not be read.

    Returns
    -------
    section : Group
        Lines of at most ``LABEL + 1 + periods + 1 + SUFFIX`` cells (58 for 30 periods, 76 for 48), and
        the since line of at most ``WIDTH``.
    """
    span = timeline.range if timeline is not None else span
    end = datetime.fromisoformat(timeline.history.end) if timeline is not None else datetime.now(timezone.utc)
    title = Text.assemble((f"Over time: the last {span.words}", "bold"),
                          (f"  (times {end.astimezone():%Z}; t: next range)", "dim"))
    failed = Text(f"could not read the report: {visible(error)}", style="dim") if error else None
    if timeline is None:
        return Group(Text(""), title, failed or Text(f"reading the last {span.words}…", style="dim"))
    history = timeline.history
    lines: list[Text] = [Text(""), title, *([failed] if failed else [])]
    last = history.periods[-1]
    for check, word in CHECKS:
        statuses = check_statuses(history, check)
        if check in OPTIONAL_ROWS and all(s == "none" for s in statuses):
            continue  # a version without estimators: no row of dots
        glyph, _ = GLYPHS.get(statuses[-1], (NONE, ""))
        lines.append(Text.assemble(_label(word), strip(statuses, colors),
                                   _suffix(f"{glyph} {statuses[-1]}", "" if statuses[-1] != "none" else "dim")))
    features, heading = shown_features(history, timeline.key_features)
    lines.append(Text(heading, style="dim"))
    for feature in features:
        lines.append(Text.assemble(_label(feature, indent=2), strip(feature_statuses(history, feature), colors),
                                   _suffix(_score(last, feature), "dim")))
    lines += [axis(history), Text(since_line(timeline), style="bold")]
    return Group(*lines)


# -- the widget ------------------------------------------------------------------------------------------

class TimelineLoaded(Message, bubble=False):
    """The report of a load: ``timeline``, or ``error`` (one line); ``load`` the worker that read it."""

    def __init__(self, load: Worker[None], timeline: Timeline | None, error: str | None = None) -> None:
        super().__init__()
        self.load, self.timeline, self.error = load, timeline, error


class TimelineView(Static):
    """The section, loaded in a thread worker; ``cycle`` moves to the next range and reads it."""

    def __init__(self, model: str, env: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.model, self.env = model, env
        self.range_index = 0
        self.timeline: Timeline | None = None
        self.error: str | None = None
        self._load: Worker[None] | None = None

    @property
    def span(self) -> Range:
        return RANGES[self.range_index]

    def load(self) -> None:
        """Read the report over the current range in a thread (a newer load replaces one still running)."""
        from fuseboard.tui.log import one_line, record_failure
        from fuseboard.tui.messages import DatabaseDown

        app, model, env, span, now = self.app, self.model, self.env, self.span, utcnow()
        if self.timeline is None or self.timeline.range != span:
            self.timeline = None
            self.error = None
            self.draw()

        def work() -> None:
            from fuseboard.ops.connect import is_unreachable

            worker = get_current_worker()
            try:
                found = fetch_timeline(app.workspace(), model, env, span, now)
            except Exception as exc:  # noqa: BLE001  (shown in the section and logged, not raised in the UI)
                if is_unreachable(exc):  # the app says it; the section keeps what it shows
                    app.post_message(DatabaseDown(one_line(getattr(exc, "orig", None) or exc)))
                elif not worker.is_cancelled:
                    self.post_message(TimelineLoaded(worker, None, record_failure("load the timeline", exc,
                                                                                  url=app.url)))
                return
            if not worker.is_cancelled:
                self.post_message(TimelineLoaded(worker, found))

        self._load = self.run_worker(work, thread=True, exclusive=True, group="load-timeline", name="load timeline",
                                     exit_on_error=False)

    def cycle(self) -> None:
        """The next range (24h by hour, 7d by 6 hours, 30d by day, again), read at once."""
        self.range_index = (self.range_index + 1) % len(RANGES)
        self.load()

    def on_timeline_loaded(self, message: TimelineLoaded) -> None:
        if message.load is not self._load:  # overtaken by a newer load (another range): never drawn
            return
        if message.timeline is not None:
            self.timeline, self.error = message.timeline, None
        else:  # what was shown of this range stays, with the error under it
            self.error = message.error
        self.draw()

    def draw(self) -> None:
        self.update(render_timeline(self.timeline, self.app.theme_colors(), span=self.span, error=self.error))
