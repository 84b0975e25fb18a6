"""The workspace's tables.

Times are stored as UTC and come back timezone-aware. JSON columns hold
structured values (feature schemas, metrics, profiles) portably across SQLite
and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Optional

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from fuseboard.clock import utcnow  # noqa: F401  (the clock columns default to; imported from here by older code)
from fuseboard.status import Status
from fuseboard.store.column_types import PackedProfile, UTCDateTime  # noqa: F401  (imported from here too)

TASKS = ("classification", "regression")
CRITICALITIES = ("mission-critical", "internal")
TEAM_KINDS = ("data-science", "ml-engineering", "it-operations")


def _packed(column: str, *, nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(column, PackedProfile, nullable=True)) if nullable else \
        Field(default_factory=dict, sa_column=Column(column, PackedProfile, nullable=False))


def _when(**kw: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kw)


def _json(default: Any = dict) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


class Team(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=64)
    kind: str = Field(max_length=32)
    description: str = ""


class Person(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    handle: str = Field(index=True, unique=True, max_length=64)
    name: str
    email: str = ""
    phone: str = ""
    team_id: Optional[int] = Field(default=None, foreign_key="team.id", index=True)


class Rota(SQLModel, table=True):
    """A team's weekly on-call rotation: ``members`` take turns of ``length_days`` from ``starts_at``.

    Explicit shifts and overrides (``RotaShift``) take precedence over the rotation.
    """

    id: Optional[int] = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", unique=True)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    length_days: int = 7
    # the IANA zone turns hand over in: a rota starting Monday 09:00 Europe/London hands over at 09:00
    # London time in summer and winter alike (rotas written before zones existed: UTC)
    tz: str = Field(default="UTC", max_length=64, sa_column_kwargs={"server_default": "UTC"})
    members: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # person handles


SHIFT_KINDS = ("shift", "override")


class RotaShift(SQLModel, table=True):
    """One person on call for a team from ``starts_at`` to ``ends_at``: a planned shift, or an override
    (a swap, sick cover) that wins over shifts and the rotation."""

    __table_args__ = (Index("ix_rotashift_team_time", "team_id", "starts_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id")
    person: str = Field(max_length=64)  # a handle
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    kind: str = Field(default="shift", max_length=16)
    note: str = ""


class HandoverState(StrEnum):
    """Where a handover stands (the stored words); see ``Handover``."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    REJECTED = "rejected"
    TRANSFERRED = "transferred"

    @property
    def open(self) -> bool:
        """Not yet transferred: the model's handover in progress."""
        return self is not HandoverState.TRANSFERRED


HANDOVER_STATES = tuple(HandoverState)
HANDOVER_OPEN = tuple(s for s in HandoverState if s.open)
HANDOVER_SIDES = ("giving", "receiving")


class Handover(SQLModel, table=True):
    """A model's move from one owning team to another, by a checklist both sides sign.

    draft -> in_review -> rejected (with a reason) -> in_review ... -> transferred (accepted:
    every required item satisfied and both sides signed; the owning team changed).
    """

    id: Optional[int] = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id", index=True)
    from_team_id: Optional[int] = Field(default=None, foreign_key="team.id")
    to_team_id: int = Field(foreign_key="team.id")
    template: str = Field(max_length=64)
    state: str = Field(default=HandoverState.DRAFT, max_length=16)
    created_by: str
    created_at: datetime = _when()
    updated_at: datetime = _when()
    reason: str = ""  # why it was rejected (the latest rejection)
    accepted_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    rejected_by: Optional[str] = None  # who rejected it last, and when (with ``reason``)
    rejected_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)


class HandoverItem(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("handover_id", "key"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    handover_id: int = Field(foreign_key="handover.id", index=True)
    position: int = 0
    key: str = Field(max_length=64)
    group: str = Field(max_length=32)
    text: str
    help: str = ""
    required: bool = True
    verify: str = ""  # an automatic check's name: fuseboard verifies the item itself
    evidence: str = ""
    checked_by: Optional[str] = None
    checked_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)


class HandoverSignature(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("handover_id", "side"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    handover_id: int = Field(foreign_key="handover.id")
    side: str = Field(max_length=16)
    person: str = Field(max_length=64)
    signed_at: datetime = _when()


class Model(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=64)
    task: str = Field(max_length=16)
    criticality: str = Field(max_length=16)
    description: str = ""
    owner_team_id: Optional[int] = Field(default=None, foreign_key="team.id", index=True)
    builder_team_id: Optional[int] = Field(default=None, foreign_key="team.id")
    retrain_by: Optional[date] = None
    created_at: datetime = _when()
    # how the monitor checks this model (methods, thresholds, key features, tolerances); see
    # monitoring/settings.py Policy, and `fuseboard monitoring set`
    monitoring: dict[str, Any] = Field(default_factory=dict,
                                       sa_column=Column(JSON, nullable=False, server_default="{}"))


class ModelVersion(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("model_id", "version"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id", index=True)
    version: int
    artifact_sha256: str = Field(max_length=64)
    artifact_path: str
    estimator_class: str
    target: str
    feature_schema: list[dict[str, Any]] = _json(list)
    validation_metrics: dict[str, Any] = _json()
    reference_profile: dict[str, Any] = _json()
    registered_by: str
    registered_at: datetime = _when()
    note: str = ""


class Environment(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=32)
    order: int = Field(default=0)
    protected: bool = False
    # a version becomes known-good after serving this long with no critical alert
    soak_seconds: int = Field(default=3600, sa_column_kwargs={"server_default": "3600"})
    # how long an endpoint may take to report a new version before a mismatch alert
    converge_seconds: int = Field(default=120, sa_column_kwargs={"server_default": "120"})
    # what a deploy runs outside fuseboard: {"command": [...], "timeout": s} or {"webhook": url, "timeout": s}
    hook: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}"))
    # who may change this environment (login names); None: anyone. Changed only by `envs allow` (audited)
    allow: Optional[list[str]] = Field(default=None, sa_column=Column(JSON, nullable=True))


class WorkspaceSetting(SQLModel, table=True):
    """A workspace-wide setting (``identity_override``: whether FUSEBOARD_USER may name the user)."""

    name: str = Field(primary_key=True, max_length=64)
    value: Any = Field(sa_column=Column(JSON, nullable=False))


class Deployment(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("model_id", "environment_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id", index=True)
    environment_id: int = Field(foreign_key="environment.id")
    version_id: int = Field(foreign_key="modelversion.id")
    endpoint_url: str = ""
    deployed_by: str
    deployed_at: datetime = _when()
    # optimistic concurrency: every change bumps it, and a change names the revision it saw
    revision: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # a change whose hook is running: the version it is moving to (version_id still serves)
    pending_rollout_id: Optional[int] = Field(default=None, foreign_key="rollout.id")


class RolloutAction(StrEnum):
    """The kinds of change a rollout records (the stored words)."""

    DEPLOY = "deploy"
    PROMOTE = "promote"
    ROLLBACK = "rollback"


class RolloutState(StrEnum):
    """Where a rollout stands (the stored words); see ``Rollout``."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABANDONED = "abandoned"


ROLLOUT_ACTIONS = tuple(RolloutAction)
ROLLOUT_STATES = tuple(RolloutState)


class Rollout(SQLModel, table=True):
    """One change of the version serving in an environment: its request, hook outcome and aftermath.

    ``state`` goes pending -> succeeded | failed (or abandoned, when a process died mid-hook and a
    later change took over). A succeeded rollout then records when the endpoint first reported
    the version (``converged_at``) and when it became known-good (``known_good_at``), and ends
    (``ended_at``) when another rollout replaces it.
    """

    __table_args__ = (Index("ix_rollout_deployment", "model_id", "environment_id", "requested_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id")
    environment_id: int = Field(foreign_key="environment.id")
    action: str = Field(max_length=16)
    from_version_id: Optional[int] = Field(default=None, foreign_key="modelversion.id")
    to_version_id: int = Field(foreign_key="modelversion.id")
    state: str = Field(default=RolloutState.PENDING, max_length=16)
    requested_by: str
    requested_at: datetime = _when()
    reason: str = ""
    hook: str = ""  # what ran: the argument list or the webhook URL, or "" for none
    hook_status: str = ""  # "exit 0", "HTTP 200", "timeout after 30s", "no hook"
    hook_output: str = ""
    finished_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    converged_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    known_good_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    ended_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    # rolled back from: this rollout's version is no longer known-good here (and never becomes so);
    # deploying the version again starts a new rollout that soaks afresh
    revoked_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    revoked_reason: str = Field(default="", sa_column_kwargs={"server_default": ""})


SIGNOFF_SIDES = ("business", "it")


class Signoff(SQLModel, table=True):
    """User-acceptance sign-off of a version, one per side."""

    __table_args__ = (UniqueConstraint("version_id", "side"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="modelversion.id")
    side: str = Field(max_length=16)
    signed_by: str
    signed_at: datetime = _when()
    note: str = ""


class AuditEvent(SQLModel, table=True):
    """Append-only: the store refuses updates and deletes of these rows, and a hash chain shows tampering.

    ``origin`` says which face made the change (cli, tui, api, demo or monitor) and ``client``
    where from (the SSH client address, else the host). Each event's ``hash`` covers its fields
    and the previous event's hash (``prev_hash``); ``prev_hash`` is unique, so the chain never forks.
    """

    __table_args__ = (Index("ix_auditevent_target_at", "target", "at"),
                      Index("uq_auditevent_prev_hash", "prev_hash", unique=True))

    id: Optional[int] = Field(default=None, primary_key=True)
    at: datetime = _when(index=True)
    actor: str
    origin: str = Field(max_length=16)
    action: str = Field(max_length=48)
    target: str
    before: dict[str, Any] = _json()
    after: dict[str, Any] = _json()
    reason: str = ""
    client: str = Field(default="", sa_column_kwargs={"server_default": ""})
    prev_hash: str = Field(default="", max_length=64)
    hash: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})


class WindowProfile(SQLModel, table=True):
    """What one version's inference rows in one environment looked like over one time window.

    Folded counts only (see monitoring/windows.py); windows merge exactly, so a
    check reads a handful of these rows whatever the traffic.
    """

    __table_args__ = (
        UniqueConstraint("version_id", "environment_id", "window_start", "window_seconds"),
        Index("ix_windowprofile_deployment_time", "model_id", "environment_id", "window_start"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id")
    environment_id: int = Field(foreign_key="environment.id")
    version_id: int = Field(foreign_key="modelversion.id")
    window_start: datetime = Field(sa_type=UTCDateTime)
    window_seconds: int = 300
    rows: int = 0
    # compact binary (store/window_codec.py), read back as the dicts of monitoring/shapes.py
    features: dict[str, Any] = _packed("features_packed")
    predictions: dict[str, Any] = _packed("predictions_packed")
    performance: dict[str, Any] = _packed("performance_packed")
    # performance estimated without labels (monitoring/estimation: CBPE counts in millionths of a row, DLE
    # sums); None for windows of versions without estimators, and those folded before they were kept
    estimated: Optional[dict[str, Any]] = _packed("estimated_packed", nullable=True)
    updated_at: datetime = _when()


class PendingLabel(SQLModel, table=True):
    """A served prediction waiting for its true label, keyed by the caller's request id.

    Only what the performance check needs (no features); deleted once labelled.
    """

    __table_args__ = (UniqueConstraint("model_id", "environment_id", "request_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id")
    environment_id: int = Field(foreign_key="environment.id")
    version_id: int = Field(foreign_key="modelversion.id")
    request_id: str = Field(max_length=128)
    window_start: datetime = Field(sa_type=UTCDateTime, index=True)
    prediction: str
    score: Optional[list[float]] = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = _when()


class IngestedBatch(SQLModel, table=True):
    """A batch that brought labelled rows with request ids, by the fingerprint of its request ids:
    the same batch sent again (a retry after a timeout, say) is refused instead of counted twice.

    Rows still waiting for labels need no fingerprint: their PendingLabel rows refuse a repeat.
    """

    __table_args__ = (UniqueConstraint("model_id", "environment_id", "fingerprint"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id")
    environment_id: int = Field(foreign_key="environment.id")
    fingerprint: str = Field(max_length=64)
    rows: int
    created_at: datetime = _when(index=True)


class CheckState(SQLModel, table=True):
    """The latest result of each check on each deployment (one row each, updated in place)."""

    model_id: int = Field(foreign_key="model.id", primary_key=True)
    environment_id: int = Field(foreign_key="environment.id", primary_key=True)
    check: str = Field(max_length=32, primary_key=True)
    version_id: int = Field(foreign_key="modelversion.id")
    status: str = Field(max_length=8)
    summary: str = ""
    rows: int = 0
    details: dict[str, Any] = _json()
    at: datetime = _when()
    since: datetime = _when()  # when the status last changed


class CheckRun(SQLModel, table=True):
    """The check history: a row each time a check's status changes on a deployment."""

    __table_args__ = (Index("ix_checkrun_deployment_check_at", "model_id", "environment_id", "check", "at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id")
    environment_id: int = Field(foreign_key="environment.id")
    version_id: int = Field(foreign_key="modelversion.id")
    check: str = Field(max_length=32)
    status: str = Field(max_length=8)
    summary: str = ""
    rows: int = 0
    details: dict[str, Any] = _json()
    at: datetime = _when(index=True)


class Alert(SQLModel, table=True):
    """One alert per deployment and check while it is open: firing -> acknowledged -> resolved.

    ``open_key`` holds the fingerprint while the alert is open and is cleared when it
    resolves; its unique constraint is what makes a duplicate open alert impossible.
    """

    id: Optional[int] = Field(default=None, primary_key=True)
    fingerprint: str = Field(max_length=200, index=True)
    open_key: Optional[str] = Field(default=None, max_length=200, unique=True)
    model_id: int = Field(foreign_key="model.id", index=True)
    environment_id: int = Field(foreign_key="environment.id")
    check: str = Field(max_length=32)
    severity: str = Field(max_length=8)
    state: str = Field(max_length=16, default="firing")
    summary: str = ""
    opened_at: datetime = _when()
    last_seen_at: datetime = _when()
    acknowledged_by: Optional[str] = None
    acknowledged_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    resolved_by: Optional[str] = None
    resolved_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    note: str = ""
    # a check that recovered and fired again within the model's flap period reopens its alert
    flaps: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    reopened_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    # what the receivers were last told (monitoring/outbox.py): None (nothing yet), open, silenced, resolved
    told: Optional[str] = Field(default=None, max_length=16)
    # nobody acknowledged it in time: re-sent to the next person on the owning team's rota (ops/escalation.py)
    escalated_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    escalated_to: Optional[str] = Field(default=None, max_length=64)


class Silence(SQLModel, table=True):
    """Mutes a deployment's alerts (one check, or all) until ``ends_at``."""

    id: Optional[int] = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id", index=True)
    environment_id: int = Field(foreign_key="environment.id")
    check: Optional[str] = Field(default=None, max_length=32)
    author: str
    comment: str
    starts_at: datetime = _when()
    ends_at: datetime = Field(sa_type=UTCDateTime)
    # a maintenance window that recurs: [starts_at, ends_at) again every ``every_seconds`` (None: once)
    every_seconds: Optional[int] = None
    # who opened it: "person" (alerts silence), "deploy" (a deploy's own, for the convergence time)
    source: str = Field(default="person", max_length=16, sa_column_kwargs={"server_default": "person"})
    # ended early by hand (alerts unsilence): the silence mutes nothing from then on
    cancelled_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)


class Lease(SQLModel, table=True):
    """Who runs the monitor loop: renewed while alive, taken over once it expires."""

    name: str = Field(primary_key=True, max_length=32)
    holder: str
    acquired_at: datetime = _when()
    expires_at: datetime = Field(sa_type=UTCDateTime)


# the notification outbox's tables live in a module of their own; named here too, with every other table
from fuseboard.store.outbox_tables import DeadLetter, OutboxEvent, ReceiverCursor  # noqa: E402,F401
from fuseboard.store.shard_tables import ShardRun  # noqa: E402,F401
from fuseboard.store.handover_tables import HandoverEvidence  # noqa: E402,F401
