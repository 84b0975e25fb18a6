"""Multivariate drift: how far each row lies from its reconstruction by a PCA of the reference.

Per-feature tests see each column alone; a change in how features go together (two features that
rose together no longer do) passes every one of them. As NannyML's data reconstruction drift does:
at registration, the encoded, standardised reference rows (encoding.py) are fitted with a PCA that
keeps ``VARIANCE_SHARE`` of their variance; a row's reconstruction error is the Euclidean distance
between it and its projection back from those components. At ingest each row's error (of at most
``sampling.SAMPLE`` rows a window, a seeded sample beyond) is folded into the window like a numeric
column (the predictions' ``reconstruction``), so windows merge exactly.

The check (evaluate.py) compares a window's mean error with the reference's: the mean of the
reference rows' errors plus or minus ``SIGMAS`` standard deviations of the mean error of reference
chunks, scaled from the chunks' size to the window's (the standard deviation of a mean of n rows
goes as 1 / sqrt(n)). Chunks are ``CHUNKS`` disjoint random parts of the reference, drawn
``DRAWS`` times with a fixed seed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from fuseboard.monitoring.shapes import Reconstruction

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = ["CHUNKS", "SIGMAS", "VARIANCE_SHARE", "bounds", "complement", "errors", "fit"]

VARIANCE_SHARE = 0.65  # NannyML's default
SIGMAS = 3.0
CHUNKS = 10
DRAWS = 20
SEED = 0
MIN_ROWS = 50  # reference rows for a PCA worth keeping


def complement(components: Any, n_columns: int) -> np.ndarray:
    """An orthonormal basis of what the components leave out.

    Parameters
    ----------
    components : array-like of shape (n_components, n_columns)
        Orthonormal rows.
    n_columns : int

    Returns
    -------
    rest : ndarray of shape (n_columns - n_components, n_columns)
        Orthonormal rows, each orthogonal to every component: a row's reconstruction error is the
        length of its projection on them, with one product and no subtraction to lose digits in.
    """
    import numpy as np

    C = np.asarray(components, dtype="float64").reshape(-1, n_columns)
    if not C.size:
        return np.eye(n_columns)
    Q, _ = np.linalg.qr(C.T, mode="complete")
    return np.ascontiguousarray(Q[:, C.shape[0]:].T)


def errors(X: np.ndarray, components: Any = None, rest: np.ndarray | None = None) -> np.ndarray:
    """Each row's distance from its reconstruction.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_columns)
        Encoded, standardised rows (``encoding.design``).
    components : array-like of shape (n_components, n_columns)
        Orthonormal rows.
    rest : ndarray of shape (n_columns - n_components, n_columns), optional
        ``complement(components, n_columns)``, when the caller keeps it for many blocks of rows.

    Returns
    -------
    errors : ndarray of shape (n_rows,), float64
        ``||x - C^T C x||``.
    """
    import numpy as np

    if rest is None:
        rest = complement(components, X.shape[1])
    projected = X @ rest.T
    return np.sqrt(np.einsum("ij,ij->i", projected, projected))


def fit(X: np.ndarray) -> dict[str, Any] | None:
    """The PCA, the reference's errors and the spread of their chunk means (all but ``columns`` and
    ``errors`` of a ``Reconstruction``); None with fewer than ``MIN_ROWS`` rows or under two columns.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_columns)
        The reference's encoded, standardised rows.
    """
    import numpy as np
    from sklearn.decomposition import PCA

    n, d = X.shape
    if n < MIN_ROWS or d < 2:
        return None
    pca = PCA(n_components=VARIANCE_SHARE, svd_solver="full", random_state=SEED).fit(X)
    components = pca.components_
    found = errors(X, components)
    chunk_rows = n // CHUNKS
    rng = np.random.default_rng(SEED)
    means = [found[order[k * chunk_rows:(k + 1) * chunk_rows]].mean()
             for order in (rng.permutation(n) for _ in range(DRAWS)) for k in range(CHUNKS)]
    return {"components": components.tolist(), "variance_share": float(pca.explained_variance_ratio_.sum()),
            "rows": int(n), "mean": float(found.mean()), "chunk_std": float(np.std(means, ddof=1)),
            "chunk_rows": int(chunk_rows), "_errors": found}


def bounds(model: Reconstruction, rows: int) -> tuple[float, float]:
    """The range a window of ``rows`` rows keeps its mean error in when nothing changed.

    The reference's mean is itself a sample's: the spread is that of a difference of two means, the
    window's (``rows`` rows) and the reference's (``model["rows"]``), each from the chunks' standard
    deviation scaled to its size; so large windows are not held to a precision the reference never had.
    """
    per_row = model["chunk_std"] ** 2 * model["chunk_rows"]
    spread = SIGMAS * math.sqrt(per_row / max(rows, 1) + per_row / max(model["rows"], 1))
    return model["mean"] - spread, model["mean"] + spread
