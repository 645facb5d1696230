"""Where applied configuration lives: an embedded SQLite store keyed by FQN."""

from tctl_py.store.sqlite import (
    SCHEMA_VERSION,
    ApplyRefused,
    Change,
    Store,
    StoredObject,
    SyncRecord,
    default_path,
)

__all__ = ["SCHEMA_VERSION", "ApplyRefused", "Change", "Store", "StoredObject", "SyncRecord", "default_path"]
