"""fuseboard: a keyboard-driven terminal console for operating ML models in production.

Importing this package is cheap: nothing heavy (SQLModel, scikit-learn, numpy)
is imported until a submodule that needs it is used.
"""

__version__ = "0.1.0"


def __getattr__(name: str):  # noqa: ANN202  (lazy: keeps `import fuseboard` cheap)
    if name in ("log_predictions", "log_labels", "profile_spec", "profile_batch", "profiles_table", "ingest_profiles",
                "ingest_dataset", "PROFILE_DDL"):
        from fuseboard import api

        return getattr(api, name)
    raise AttributeError(f"module 'fuseboard' has no attribute {name!r}")
