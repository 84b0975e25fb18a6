"""Operations: what the faces (CLI and console) do to a workspace, and the one way they read it.

The faces import this package and ``monitoring``'s public functions, never ``store`` (an
import-linter contract). Every change is audited and is one transaction.

Changes:

* ``registry`` (register a version), ``deploy`` (plan, apply, promote, roll back; known-good and
  convergence), ``gates``, ``pending`` (clearing a stuck change), ``hooks`` (deploy hooks),
  ``environments`` (settings and allow-lists), ``workspace`` (copying a workspace), ``demo`` and
  ``demo_live`` (the demo workspace and its traffic);
* ownership: ``teams``, ``oncall`` (rotas and shifts; the pure turn arithmetic is in ``turns``),
  ``handover`` (checklists from data science to operations: templates and verifiers, lifecycle,
  policy, export, shift summary);
* ``audit`` (the trail's recording and verification), ``names`` (name rules).

Reads, as typed records:

* ``views`` (models, environments, history, audit, deployment health), ``incident`` (an alert's
  incident and the rollback advice), ``records`` (the records ``views`` and ``quick`` share);
* ``quick``: the command line's light read path over SQLite (no SQLAlchemy import), falling back
  to ``views`` wherever it does not apply;
* ``connect``: opening, backing up and diagnosing a workspace.
"""
