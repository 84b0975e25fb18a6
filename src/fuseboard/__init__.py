"""fuseboard: a keyboard-driven terminal console for operating ML models in production.

Importing this package is cheap: nothing heavy (SQLModel, scikit-learn, numpy)
is imported until a submodule that needs it is used.
"""

__version__ = "0.1.0"
