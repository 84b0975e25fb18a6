"""Per-model monitoring settings: drift method and threshold per feature, key features,
dataset-drift share, performance tolerances and the health probe; the model's runbook (a URL or
text shown with its alerts, incidents and rollbacks) and its alerts' flap period.

Stored as JSON on the model and turned into a ``Policy`` (defined here, read by every check in
evaluate.py) by ``policy_for``. Changes are validated against the model's latest feature schema
and audited (``update`` writes to the database; ``policy_for`` and ``validate`` are pure).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypedDict, cast

from sqlmodel import func, select

from fuseboard.errors import FuseboardError
from fuseboard.monitoring import drift, performance, tolerance
from fuseboard.monitoring.triage import HARMFUL_SHARE
from fuseboard.store import audit, lookup
from fuseboard.store.db import Workspace
from fuseboard.store.models import ModelVersion


class MonitoringSettings(TypedDict, total=False):
    """A model's monitoring settings as stored (``Model.monitoring``, JSON): only what was set.

    ``validate`` returns them cleaned; ``policy_for`` fills in the defaults. Every key the code reads.
    """

    methods: dict[str, str]  # feature -> drift method
    default_method: str  # the method of features without one in ``methods`` (absent: psi)
    thresholds: dict[str, float]  # feature -> drift threshold
    key_features: list[str]  # sorted
    tolerances: dict[str, list[str | float]]  # metric -> [kind, warn, crit] or the older [kind, amount]
    gates: dict[str, float]  # metric -> the promotion gate's bound
    drift_share: float
    importance_floor: float  # drift only in features carrying less of the importance is at most warn
    min_rows: int
    min_labelled: int
    failures_to_alert: int
    probe_path: str
    probe_timeout: float
    expected_status: int
    drift_window_minutes: int
    performance_window_hours: int
    runbook: str  # a URL or text (RUNBOOK_MAX characters)
    flap_period_minutes: int  # 0: an alert never reopens
    escalate_after_minutes: int  # 0: never; absent: the tier's default (ops/escalation.py)


class SettingsChanges(TypedDict, total=False):
    """Settings as asked for (``monitoring set``'s flags), before ``validate``: numbers may still be text,
    tolerances as typed (``warn:10%,crit:50%``, ``abs:0.05``) or as stored, and None means "not given"."""

    methods: Mapping[str, str]
    default_method: str | None
    thresholds: Mapping[str, str | float]
    key_features: Sequence[str]
    tolerances: Mapping[str, str | Sequence[str | float]]  # text to parse, or (kind, amount) / (kind, warn, crit)
    gates: Mapping[str, str | float]
    drift_share: float | None
    importance_floor: float | None
    min_rows: int | None
    min_labelled: int | None
    failures_to_alert: int | None
    probe_path: str | None
    probe_timeout: float | None
    expected_status: int | None
    drift_window_minutes: int | None
    performance_window_hours: int | None
    runbook: str | None
    flap_period_minutes: int | None
    escalate_after_minutes: int | None


@dataclass
class Policy:
    """How a model is checked; every field has the documented default."""

    drift_window: timedelta = timedelta(hours=1)
    performance_window: timedelta = timedelta(hours=24)
    min_rows: int = 100  # fewer rows than this in the window: no drift verdict
    min_labelled: int = performance.MIN_SAMPLES
    methods: dict[str, str] = field(default_factory=dict)  # feature -> method (default: ``default_method``)
    default_method: str = drift.DEFAULT_METHOD
    thresholds: dict[str, float] = field(default_factory=dict)  # feature -> threshold
    key_features: tuple[str, ...] = ()
    drift_share: float = drift.DEFAULT_DRIFT_SHARE
    # drifted features carrying less than this share of the model's importance: the drift check is at most
    # warn, whatever the tier, and the triage says watch; at or above it, harmful (only where the version's
    # importance was measured)
    importance_floor: float = HARMFUL_SHARE
    # metric -> its setting as stored ([kind, warn, crit] or [kind, amount]); the tier's defaults
    # (tolerance.resolve) for the rest
    tolerances: dict[str, list[str | float]] = field(default_factory=dict)
    null_rate_increase: float = 0.05  # absolute increase over the reference's null rate
    unseen_share: float = 0.05  # share of rows with categories the reference never had
    failures_to_alert: int = 3  # consecutive failed probes before an outage alert
    probe_history: int = 120  # probes kept for uptime and latency percentiles
    probe_path: str = "/health"
    probe_timeout: float = 2.0
    expected_status: int = 200


SCALARS = {"default_method": str, "drift_share": float, "importance_floor": float, "min_rows": int, "min_labelled": int,
           "failures_to_alert": int,
           "probe_path": str, "probe_timeout": float, "expected_status": int, "drift_window_minutes": int,
           "performance_window_hours": int, "runbook": str, "flap_period_minutes": int,
           "escalate_after_minutes": int}
RUNBOOK_MAX = 2000  # characters
FLAP_PERIOD_MAX_MINUTES = 24 * 60


def policy_for(settings: MonitoringSettings, base: Policy | None = None) -> Policy:
    """The policy a model's stored settings give (defaults for everything they leave out)."""
    policy = dataclasses.replace(base) if base else Policy()
    if not settings:
        return policy
    policy.methods = {**policy.methods, **settings.get("methods", {})}
    policy.thresholds = {**policy.thresholds, **settings.get("thresholds", {})}
    policy.key_features = tuple(settings.get("key_features", policy.key_features))
    policy.tolerances = {**policy.tolerances, **{k: list(v) for k, v in settings.get("tolerances", {}).items()}}
    for key in ("default_method", "drift_share", "importance_floor", "min_rows", "min_labelled", "failures_to_alert", "probe_path",
                "probe_timeout", "expected_status"):
        if key in settings:
            setattr(policy, key, settings[key])
    if "drift_window_minutes" in settings:
        policy.drift_window = timedelta(minutes=settings["drift_window_minutes"])
    if "performance_window_hours" in settings:
        policy.performance_window = timedelta(hours=settings["performance_window_hours"])
    return policy


def _features(session: Any, model_id: int) -> dict[str, str]:
    latest = session.exec(select(func.max(ModelVersion.version)).where(ModelVersion.model_id == model_id)).one()
    mv = session.exec(select(ModelVersion).where(ModelVersion.model_id == model_id,
                                                 ModelVersion.version == latest)).first()
    return {f["name"]: f["kind"] for f in mv.feature_schema} if mv else {}


def validate(settings: SettingsChanges | MonitoringSettings, features: dict[str, str]) -> MonitoringSettings:
    """One error line for the first setting that cannot work; the cleaned settings otherwise."""
    out: MonitoringSettings = {}
    for feature, method in settings.get("methods", {}).items():
        if feature not in features:
            raise FuseboardError(f"method {feature}={method}: the model has no feature {feature!r}",
                                 field="method")
        spec = drift.METHODS.get(method)
        if spec is None:
            raise FuseboardError(f"method {feature}={method}: the methods are {', '.join(drift.METHODS)}",
                                 field="method")
        if spec.numeric_only and features[feature] != "numeric":
            raise FuseboardError(f"method {feature}={method}: {method} needs a numeric feature; "
                                 f"{feature!r} is categorical", field="method")
        out.setdefault("methods", {})[feature] = method
    for feature, value in settings.get("thresholds", {}).items():
        if feature not in features:
            raise FuseboardError(f"threshold {feature}={value}: the model has no feature {feature!r}",
                                 field="threshold")
        out.setdefault("thresholds", {})[feature] = _number(value, f"threshold {feature}", "threshold")
    for feature in settings.get("key_features", []):
        if feature not in features:
            raise FuseboardError(f"key feature {feature}: the model has no feature {feature!r}", field="key")
    if settings.get("key_features"):
        out["key_features"] = sorted(set(settings["key_features"]))
    for metric, value in settings.get("tolerances", {}).items():
        out.setdefault("tolerances", {})[metric] = (tolerance.parse(metric, value) if isinstance(value, str)
                                                    else tolerance.check(metric, value))
    for metric, value in settings.get("gates", {}).items():
        if not isinstance(metric, str) or not metric.replace("_", "").isalnum():
            raise FuseboardError(f"gate {metric}: not a metric name (roc_auc, f1, accuracy, rmse, mae, r2, ...)",
                                 field="gate")
        out.setdefault("gates", {})[metric] = _number(value, f"gate {metric}", "gate")
    for key, kind in SCALARS.items():
        if key in settings and settings[key] is not None:
            try:
                out[key] = kind(settings[key])
            except (TypeError, ValueError):
                what = "a whole number" if kind is int else f"a {kind.__name__}"
                raise FuseboardError(f"{key.replace('_', ' ')} must be {what}", field=key) from None
    if "runbook" in out:
        out["runbook"] = out["runbook"].strip()
        if len(out["runbook"]) > RUNBOOK_MAX:
            raise FuseboardError(f"the runbook is {len(out['runbook']):,} characters; at most {RUNBOOK_MAX:,} "
                                 "(link to a longer one)", field="runbook")
    escalate = out.get("escalate_after_minutes")
    if escalate is not None and not 0 <= escalate <= 24 * 60:
        raise FuseboardError("escalation waits between 0 (never) and 24h", field="escalate_after")
    flap = out.get("flap_period_minutes")
    if flap is not None and not 0 <= flap <= FLAP_PERIOD_MAX_MINUTES:
        raise FuseboardError("the flap period must be between 0 (never reopen) and 24h", field="flap_period")
    default = out.get("default_method")
    if default is not None and default not in drift.METHODS:
        raise FuseboardError(f"default method {default}: the methods are {', '.join(drift.METHODS)}",
                             field="default_method")
    share = out.get("drift_share")
    if share is not None and not 0 < share <= 1:
        raise FuseboardError("the drift share must be above 0 and at most 1", field="drift_share")
    floor = out.get("importance_floor")
    if floor is not None and not 0 <= floor <= 1:
        raise FuseboardError("the importance floor must be between 0 and 1", field="importance_floor")
    return out


def _number(value: Any, what: str, name: str) -> float:
    """``value`` as a finite, non-negative number; ``what`` words it for the message, ``name`` is the field."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise FuseboardError(f"{what} must be a number, not {value!r}", field=name) from None
    if number != number or number in (float("inf"), float("-inf")):  # NaN and infinity pass every comparison
        raise FuseboardError(f"{what} must be a finite number, not {value!r}", field=name)
    if number < 0:
        raise FuseboardError(f"{what} must not be negative", field=name)
    return number


def preview(ws: Workspace, model: str, changes: SettingsChanges) -> list[str]:
    """Check ``changes`` as ``update`` will (one error line for the first bad one, nothing written);
    returns the protected environments the model serves in, where the change takes effect."""
    with ws.session() as s:
        m = lookup.model(s, model)
        validate(changes, _features(s, m.id))
        return lookup.protected_serving(s, m.id)


def update(ws: Workspace, model: str, changes: SettingsChanges, *, actor: str, origin: str, reason: str = "",
           reset: bool = False) -> MonitoringSettings:
    """Merge ``changes`` into the model's settings (or start again from a new model's); audited."""
    with ws.transaction() as s:
        m = lookup.model(s, model)
        cleaned = validate(changes, _features(s, m.id))
        before = dict(m.monitoring or {})
        # --reset: the settings a model registered today starts with (its default method: auto)
        merged: dict[str, Any] = dict(drift.new_model_settings()) if reset else {
            k: (dict(v) if isinstance(v, dict) else v) for k, v in before.items()}
        for key, value in cleaned.items():
            if isinstance(value, dict):
                merged.setdefault(key, {}).update(value)
            elif key == "runbook" and not value:  # --runbook "": no runbook
                merged.pop(key, None)
            else:
                merged[key] = value
        if merged != before:
            m.monitoring = merged
            s.add(m)
            audit.record(s, actor=actor, origin=origin, action="monitoring.settings", target=m.name,
                         before=before, after=merged, reason=reason)
    return cast(MonitoringSettings, merged)
