"""Finding rows by the names users type, with errors that say what exists."""

from __future__ import annotations

from sqlmodel import Session, select

from fuseboard.errors import NotFound
from fuseboard.store.models import Environment, Model, ModelVersion, Team


def model(session: Session, name: str) -> Model:
    found = session.exec(select(Model).where(Model.name == name)).first()
    if found is None:
        raise NotFound(f"no model named {name!r} (see `fuseboard models`)")
    return found


def environment(session: Session, name: str) -> Environment:
    found = session.exec(select(Environment).where(Environment.name == name)).first()
    if found is None:
        names = ", ".join(e.name for e in session.exec(select(Environment).order_by(Environment.order)))
        raise NotFound(f"no environment named {name!r} (this workspace has: {names})", field="env")
    return found


def team(session: Session, name: str, field: str | None = "owner") -> Team:
    """The team called ``name``; ``field`` names the input it came from (None: a command's argument)."""
    found = session.exec(select(Team).where(Team.name == name)).first()
    if found is None:
        names = ", ".join(t.name for t in session.exec(select(Team).order_by(Team.name))) or "none yet"
        raise NotFound(f"no team named {name!r} (teams: {names}; add one with `fuseboard teams add`)", field=field)
    return found


def version(session: Session, model_row: Model, number: int) -> ModelVersion:
    found = session.exec(
        select(ModelVersion).where(ModelVersion.model_id == model_row.id, ModelVersion.version == number)
    ).first()
    if found is None:
        raise NotFound(f"model {model_row.name!r} has no version {number} (see `fuseboard models show {model_row.name}`)")
    return found


def protected_serving(session: Session, model_id: int) -> list[str]:
    """The protected environments (prod) a model serves in, in promotion order."""
    from fuseboard.store.models import Deployment

    return list(session.exec(select(Environment.name).join(Deployment, Deployment.environment_id == Environment.id)
                             .where(Deployment.model_id == model_id, Environment.protected)
                             .order_by(Environment.order)))
