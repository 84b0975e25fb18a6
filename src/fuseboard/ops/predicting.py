"""The model's outputs on every row of a registered file, and the reference profile beside them.

Registration needs the artifact's predictions (and scores) on every reference row: they are the
prediction-drift reference. A million rows through a pipeline cost seconds, most of it in the
transforms' temporary arrays (a one-hot encoder's dense matrix, the column stack after it) rather than
in arithmetic, so the rows go through the model ``CHUNK_ROWS`` at a time: each chunk's temporaries
stay small enough to be reused rather than faulted in afresh, and the chunks run on a small thread pool
(numpy, scipy and pandas release the interpreter lock for most of that work), with the numerical
libraries' own threads held to one meanwhile so the two pools do not fight over the same cores.

The answers are the same as one call on all the rows: scikit-learn's estimators predict a row from that
row alone, chunks are joined in order, and a chunk that fails makes the whole file predict again as one
call, so an error names what it always named.

The reference profile (``profiles.build_profile``: every feature's histograms, quantiles and counts,
over every row) is computed column by column on the same pool while the model predicts.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from fuseboard.errors import FuseboardError
from fuseboard.monitoring import profiles
from fuseboard.monitoring.shapes import ReferenceProfile, SchemaEntry

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["CHUNK_ROWS", "WORKERS", "Predicting", "ProfileParts", "model_input", "one_thread_blas", "predict_both", "predict_rows",
           "profile_reference", "workers"]

CHUNK_ROWS = 65_536  # rows the model predicts at a time (files of up to 1.5 times that: one call)
WORKERS = 2  # threads of the registration's pool (this project's machines have two cores)


def model_input(estimator: Any, features: "pd.DataFrame") -> Any:
    """DataFrames for models fitted with column names, arrays for the rest."""
    if getattr(estimator, "feature_names_in_", None) is not None:
        return features
    return features.to_numpy(dtype="float64")


def predict_both(estimator: Any, X: Any) -> tuple[Any, Any]:
    """``predict`` and, where the estimator has it, ``predict_proba`` of ``X``. A pipeline's transforms run
    once for both (as ``Pipeline.predict`` runs them: each step's ``transform`` in turn, then the last
    step's method), not once each: half the time on a million rows of one-hot columns."""
    from sklearn.pipeline import Pipeline

    if not hasattr(estimator, "predict_proba"):
        return estimator.predict(X), None
    if isinstance(estimator, Pipeline) and len(estimator.steps) > 1:
        final = estimator.steps[-1][1]
        Xt = estimator[:-1].transform(X)
        return final.predict(Xt), final.predict_proba(Xt)
    return estimator.predict(X), estimator.predict_proba(X)


@contextlib.contextmanager
def one_thread_blas() -> Iterator[None]:
    """Hold BLAS and OpenMP to one thread each while this process runs its own threads (or fits small
    models: a two-thread BLAS product of a 16,000 x 60 matrix is slower than a one-thread one, and
    five times slower on a busy machine). The same answers: the libraries split the rows of a product
    between their threads, not the sums that make each entry. Only the libraries loaded already are held:
    enter it once the artifact has loaded (scikit-learn brings scipy's)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover  (a scikit-learn dependency)
        yield
        return
    with threadpool_limits(limits=1):
        yield


@contextlib.contextmanager
def workers() -> Iterator[Executor]:
    """The registration's thread pool (enter ``one_thread_blas`` too, once the libraries are loaded), with
    warnings silenced (in this thread, for the pool's threads too: ``warnings.catch_warnings`` is not
    safe to enter from several threads): scikit-learn's and numpy's warnings about a user's data are
    not what registering says (each way the data is wrong is one line of its own)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="fuseboard-register")
        try:
            yield pool
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)  # a failed registration does not profile on
            raise
        pool.shutdown(wait=True)


def _chunks(n: int) -> list[slice]:
    if n <= CHUNK_ROWS * 3 // 2:
        return [slice(None)]  # all the rows, as they are
    return [slice(start, min(start + CHUNK_ROWS, n)) for start in range(0, n, CHUNK_ROWS)]


def _rows(X: Any, part: slice) -> Any:
    if part == slice(None):
        return X
    return X.iloc[part] if hasattr(X, "iloc") else X[part]


def _join(parts: list[Any]) -> Any:
    import numpy as np

    return parts[0] if len(parts) == 1 else np.concatenate(parts)


class Predicting:
    """The estimator's predictions (and ``predict_proba``, else None) on every row of ``features``, started
    on ``pool`` (one chunk after the other in this thread without one); ``result()`` waits for them.

    Parameters
    ----------
    estimator : fitted scikit-learn estimator
    features : DataFrame of shape (n_rows, n_features)
        The file's feature columns (``registry._features``).
    path : Path
        The file, for the error line.
    pool : Executor, optional
        Where the chunks run (``workers()``).
    """

    def __init__(self, estimator: Any, features: "pd.DataFrame", path: Path, pool: Executor | None = None) -> None:
        self.estimator, self.features, self.path = estimator, features, path
        self.X = model_input(estimator, features)
        parts = _chunks(len(features))
        self.futures: list[Future] = []
        if pool is not None and len(parts) > 1:
            self.futures = [pool.submit(lambda part=part: predict_both(estimator, _rows(self.X, part)))
                            for part in parts]  # (warnings: silenced by ``workers()``, in the calling thread)
        self.parts = parts
        self.done: tuple[Any, Any] | None = None

    def _quietly(self, part: slice) -> tuple[Any, Any]:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return predict_both(self.estimator, _rows(self.X, part))

    def _all(self) -> tuple[Any, Any]:
        if len(self.parts) == 1:
            return self._quietly(self.parts[0])
        try:
            results = [f.result() for f in self.futures] if self.futures else [self._quietly(p) for p in self.parts]
        except MemoryError:
            raise
        except Exception:  # noqa: BLE001  (one call on all the rows: the error it always gave)
            return self._quietly(slice(None))
        pred = _join([r[0] for r in results])
        return pred, (None if results[0][1] is None else _join([r[1] for r in results]))

    def result(self) -> tuple[Any, Any]:
        """``(pred, proba)``: ndarrays of shape (n_rows,) and (n_rows, n_classes) (or None).

        Raises
        ------
        FuseboardError
            The model cannot predict these rows: the first line of its error, or the cell of text in a
            column of numbers that caused it.
        """
        if self.done is not None:
            return self.done
        try:
            self.done = self._all()
            return self.done
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001  (sklearn raises many types for bad data)
            _text_in_numbers(self.features, self.path)
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise FuseboardError(f"model cannot predict this data: {first[:200]} ({self.path})") from None


def predict_rows(estimator: Any, features: "pd.DataFrame", path: Path, pool: Executor | None = None
                 ) -> tuple[Any, Any]:
    """``Predicting(estimator, features, path, pool).result()``: the predictions and scores of every row."""
    return Predicting(estimator, features, path, pool).result()


def _text_in_numbers(frame: "pd.DataFrame", path: Path) -> None:
    """After a failed prediction: name a cell of text in a column that is otherwise numbers."""
    import pandas as pd

    for col in frame.columns:
        series = frame[col]
        if pd.api.types.is_numeric_dtype(series):
            continue
        _, row, share = profiles.parse_numbers(series)
        if row is not None and share >= 0.5:
            raise FuseboardError(
                f"column {col!r} must be numeric but line {row + 2} holds {str(series.iloc[row])!r} ({path})")


class ProfileParts:
    """The reference profile's columns, profiled on a pool as they become available; ``profile()`` joins
    them into what ``profiles.build_profile`` returns for the same columns (the same dict, key for key:
    each part is ``build_profile``'s own, of one column)."""

    def __init__(self, pool: Executor | None, frame: "pd.DataFrame", bins: int = profiles.DEFAULT_BINS) -> None:
        self.pool, self.frame, self.bins = pool, frame, bins
        self.parts: dict[str, Future | Any] = {}

    def _run(self, key: str, function: Any, *args: Any, **kwargs: Any) -> None:
        self.parts[key] = function(*args, **kwargs) if self.pool is None else self.pool.submit(function, *args, **kwargs)

    def feature(self, entry: SchemaEntry) -> None:
        """Profile a feature of the frame (``entry``: its SchemaEntry)."""
        self._run(f"feature:{entry['name']}", self._feature, entry)

    def _feature(self, entry: SchemaEntry) -> Any:
        return profiles.build_profile(self.frame, [entry], bins=self.bins)["features"][entry["name"]]

    def labels(self, key: str, values: "pd.Series", kind: str) -> None:
        """Profile the ``target`` or the ``predictions`` (as ``build_profile``'s keyword of that name)."""
        self._run(key, self._labels, key, values, kind)

    def _labels(self, key: str, values: "pd.Series", kind: str) -> Any:
        return profiles.build_profile(self.frame.iloc[:0], [], bins=self.bins,
                                      **{key: values, f"{key.removesuffix('s')}_kind": kind})[key]

    def scores(self, values: "pd.Series") -> None:
        """Profile a binary classifier's scores of its positive class (``profile["scores"]``)."""
        self._run("scores", profiles.profile_column, values, "numeric")

    def _get(self, key: str) -> Any:
        found = self.parts[key]
        return found.result() if isinstance(found, Future) else found

    def __getitem__(self, key: str) -> Any:
        """``parts["features"]`` (as a profile's, once they are done), for ``estimators.fit``."""
        if key != "features":
            raise KeyError(key)
        return {name.removeprefix("feature:"): self._get(name) for name in self.parts if name.startswith("feature:")}

    def profile(self) -> ReferenceProfile:
        """The profile, once every part is done."""
        out: ReferenceProfile = {"rows": int(len(self.frame)), "bins": self.bins, "features": self["features"]}
        for key in ("target", "predictions", "scores"):
            if key in self.parts:
                out[key] = self._get(key)  # type: ignore[literal-required]
        return out


def profile_reference(pool: Executor | None, features: "pd.DataFrame", schema: list[SchemaEntry]) -> ProfileParts:
    """Start profiling every feature of ``schema``; the caller adds the target, predictions and scores,
    then calls ``profile()``."""
    parts = ProfileParts(pool, features)
    for entry in schema:
        parts.feature(entry)
    return parts
