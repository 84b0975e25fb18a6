"""The receivers fuseboard delivers outbox events to, one module per kind, and the registry of kinds.

``build(specs)`` makes them from the config file's ``[[notify.receiver]]`` tables
(``config.ReceiverSpec``); ``monitoring.delivery`` sends them the outbox in order.
"""

from __future__ import annotations

from fuseboard.config import ReceiverSpec
from fuseboard.monitoring.receivers.alertmanager import Alertmanager
from fuseboard.monitoring.receivers.base import Attempt, Receiver
from fuseboard.monitoring.receivers.pagerduty import PagerDuty
from fuseboard.monitoring.receivers.slack import Slack
from fuseboard.monitoring.receivers.webhook import Webhook

KINDS: dict[str, type[Receiver]] = {"alertmanager": Alertmanager, "pagerduty": PagerDuty, "slack": Slack,
                                    "webhook": Webhook}

__all__ = ["Attempt", "Receiver", "KINDS", "build"]


def build(specs: list[ReceiverSpec], environ: dict[str, str] | None = None) -> list[Receiver]:
    """One receiver per spec, reading its secrets from ``environ`` (default: the process's environment)."""
    return [KINDS[spec.kind](spec, environ) for spec in specs]
