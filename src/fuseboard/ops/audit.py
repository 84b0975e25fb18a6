"""The audit trail, for the operations: recording lives in the store so monitoring can chain events too."""

from fuseboard.store.audit import (ChainReport, current_actor, current_client, effective_actor, ignored_override,
                                   os_user, record, verify)

__all__ = ["ChainReport", "current_actor", "current_client", "effective_actor", "ignored_override", "os_user",
           "record", "verify"]
