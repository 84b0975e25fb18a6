"""Changing which version serves where: deploy, promote and rollback, through the environment's hook.

Every change goes the same way:

1. **request** (one transaction): the deployment must still be at the revision the user
   looked at (else ``Conflict``: someone changed it under them), no other change may be in
   flight, the user must be allowed to change the environment, and a change into a
   protected environment must pass its gates (or be overridden with a reason). A pending
   rollout is recorded and audited.
2. **hook**: the environment's command or webhook runs, outside any transaction.
3. **outcome** (one transaction): only if the hook succeeded does the new version become
   the one recorded as serving; otherwise the old one stays, and the rollout keeps the
   failure and its output. Both are audited.

The serving system then has to follow: the health probe checks the endpoint reports the
new version (``wait_converged`` here; the monitor raises a mismatch alert after the
environment's convergence time). A retry is a new change of the same kind.

One job per module: ``records`` (ChangePlan, ChangeResult), ``planning`` (what a change would do),
``known_good`` (where a rollback goes), ``applying`` (request, hook, outcome), ``convergence``
(waiting for the endpoint; settling changes whose process died).
"""

from fuseboard.ops.deploy.applying import apply, change, deploy
from fuseboard.ops.deploy.convergence import Convergence, reconcile, wait_converged
from fuseboard.ops.deploy.known_good import last_known_good
from fuseboard.ops.deploy.planning import next_environment, on_call, plan_change
from fuseboard.ops.deploy.records import ACTIONS, STALE_AFTER, ChangePlan, ChangeResult, ChangeState

__all__ = ["ACTIONS", "STALE_AFTER", "ChangePlan", "ChangeResult", "ChangeState", "Convergence", "apply", "change",
           "deploy", "last_known_good", "next_environment", "on_call", "plan_change", "reconcile", "wait_converged"]
