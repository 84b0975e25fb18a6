"""Opening a workspace, for the faces: they reach the store only through ``ops``.

The CLI and the console open, back up and diagnose workspaces with these names; the store
module that implements them (``fuseboard.store.db``) stays below the faces' import contract.
"""

from __future__ import annotations

from fuseboard.store.db import Workspace, backup, damaged, is_unreachable, open_workspace

__all__ = ["Workspace", "backup", "damaged", "is_unreachable", "open_workspace"]
