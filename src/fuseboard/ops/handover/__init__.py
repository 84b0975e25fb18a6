"""Handover of a model from its builders to its operators, by checklist; and the ownership policy.

One job per module:

- ``templates``: the checklist templates (TOML, one per criticality tier) and their checking;
- ``verifiers``: the items fuseboard verifies from the workspace (``verify = "rollback_target"``),
  re-checked whenever a handover is shown, signed or exported, never ticked by hand;
- ``reading``: a handover as a ``HandoverView`` (``show``, ``open_handovers``);
- ``lifecycle``: start, evidence (every piece kept, with who and when), tick, submit, sign (and
  ``sign_plan``: what signing would mean, or why it cannot), then the transfer of ownership; reject;
- ``export``: the checklist as Markdown;
- ``policy``: the ownership policy and the models that break it;
- ``shift``: the on-call shift summary.

States (``store.models.HandoverState``): draft -> in_review -> transferred (accepted: every
required item satisfied, then a member of the giving team and one of the receiving team signed;
the owning team changes) or -> rejected (with a reason; signatures cleared) -> in_review again.
"""

from fuseboard.ops.handover.export import markdown
from fuseboard.ops.handover.lifecycle import SignPlan, reject, set_evidence, sign, sign_plan, start, submit, tick
from fuseboard.ops.handover.policy import DEFAULT_POLICY, Violation, check_policy, policy
from fuseboard.ops.handover.reading import GROUP_WHY, EvidenceEntry, HandoverView, ItemView, open_handovers, show
from fuseboard.ops.handover.shift import MACHINE, SHIFT_ACTIONS, ShiftSummary, shift_summary
from fuseboard.ops.handover.templates import GROUPS, load_template, shipped_dir, templates, user_dir
from fuseboard.ops.handover.verifiers import (CHECKS, CHECKS_RUNNING_DAYS, VERIFIERS, Verdict, v_alert_thresholds,
                                              v_checks_running, v_performance_monitored, v_prod_hook, v_retrain_by,
                                              v_rollback_target, v_schema_captured, v_signoffs, v_validation_metrics)

__all__ = [
    "CHECKS", "CHECKS_RUNNING_DAYS", "DEFAULT_POLICY", "GROUPS", "GROUP_WHY", "MACHINE", "SHIFT_ACTIONS", "VERIFIERS",
    "EvidenceEntry", "HandoverView", "ItemView", "ShiftSummary", "SignPlan", "Verdict", "Violation", "check_policy", "load_template", "markdown",
    "open_handovers", "policy", "reject", "set_evidence", "shift_summary", "shipped_dir", "show", "sign", "sign_plan", "start",
    "submit", "templates", "tick", "user_dir", "v_alert_thresholds", "v_checks_running", "v_performance_monitored",
    "v_prod_hook", "v_retrain_by", "v_rollback_target", "v_schema_captured", "v_signoffs", "v_validation_metrics",
]
