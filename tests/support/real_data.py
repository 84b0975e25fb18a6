"""Real data sets that ship inside installed packages (nothing is downloaded), cut into windows.

``vega_datasets``' local files (a test extra) and scikit-learn's bundled sets. Each set is a
``RealSet``: a reference frame, windows whose distribution moved (time-ordered where the data has
time), and the features; ``controls`` draws no-shift windows from a reference. The same cases as
``bench/real_data.py`` (which also runs Evidently), small enough for the test suite.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cache
from typing import Any

CONTROL_SIZES = (500, 2000)


@dataclass(frozen=True)
class RealSet:
    name: str
    target: str
    features: tuple[str, ...]
    reference: Any  # pandas.DataFrame: features and target
    windows: tuple[tuple[str, Any], ...]  # (label, frame), in time order where there is time


@cache
def seattle() -> RealSet:
    """Seattle's daily weather: reference 2012-2013, a window per quarter of 2014-2015 (the seasons move).

    ``precipitation`` is 0 on 55% of the days, ``weather`` is text, ``rained`` a 0/1 integer flag.
    """
    import pandas as pd
    from vega_datasets import local_data

    with warnings.catch_warnings():  # vega_datasets reads its files with an option pandas 3 deprecates
        warnings.simplefilter("ignore")
        data = local_data.seattle_weather()
    data["weather"] = data["weather"].astype(str)
    data["rained"] = (data["precipitation"] > 0).astype("int64")
    when = pd.to_datetime(data["date"])
    features = ("precipitation", "temp_min", "wind", "weather", "rained")
    columns = [*features, "temp_max"]
    windows = tuple((f"{year} Q{q}", data.loc[(when.dt.year == year) & (when.dt.quarter == q), columns]
                     .reset_index(drop=True)) for year in (2014, 2015) for q in (1, 2, 3, 4))
    return RealSet("seattle", "temp_max", features, data.loc[when.dt.year <= 2013, columns].reset_index(drop=True),
                   windows)


@cache
def cars() -> RealSet:
    """Cars by model year: reference 1970-1976, windows 1977-78, 1979-80 and 1982 (lighter, thriftier cars).

    ``Cylinders`` is an integer with five values.
    """
    import pandas as pd
    from vega_datasets import local_data

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = local_data.cars().dropna(subset=["Miles_per_Gallon", "Horsepower"]).reset_index(drop=True)
    data["Origin"] = data["Origin"].astype(str)
    features = ("Miles_per_Gallon", "Cylinders", "Displacement", "Horsepower", "Weight_in_lbs", "Acceleration")
    columns = [*features, "Origin"]
    year = pd.to_datetime(data["Year"]).dt.year
    windows = tuple((label, data.loc[(year >= lo) & (year <= hi), columns].reset_index(drop=True))
                    for label, lo, hi in (("1977-78", 1977, 1978), ("1979-80", 1979, 1980), ("1982", 1981, 1982)))
    return RealSet("cars", "Origin", features, data.loc[year <= 1976, columns].reset_index(drop=True), windows)


@cache
def breast_cancer() -> RealSet:
    """scikit-learn's breast cancer set (30 measurements): a seeded 60% as reference; windows of the
    rest: its malignant tumours only, its benign ones only (a shift in who is screened), and all of it."""
    import numpy as np
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True).frame
    features = tuple(c for c in data.columns if c != "target")
    order = np.random.default_rng(0).permutation(len(data))
    cut = int(0.6 * len(data))
    reference, rest = data.iloc[order[:cut]].reset_index(drop=True), data.iloc[order[cut:]].reset_index(drop=True)
    windows = (("malignant", rest[rest["target"] == 0].reset_index(drop=True)),
               ("benign", rest[rest["target"] == 1].reset_index(drop=True)), ("the rest", rest))
    return RealSet("breast-cancer", "target", features, reference, windows)


@cache
def diabetes() -> RealSet:
    """scikit-learn's diabetes set, unscaled (``sex`` is 1 or 2): a seeded 60% as reference; windows of the
    rest: patients 50 and older, those under 50, and all of it."""
    import numpy as np
    from sklearn.datasets import load_diabetes

    data = load_diabetes(as_frame=True, scaled=False).frame
    features = tuple(c for c in data.columns if c != "target")
    order = np.random.default_rng(0).permutation(len(data))
    cut = int(0.6 * len(data))
    reference, rest = data.iloc[order[:cut]].reset_index(drop=True), data.iloc[order[cut:]].reset_index(drop=True)
    windows = (("50 and older", rest[rest["age"] >= 50].reset_index(drop=True)),
               ("under 50", rest[rest["age"] < 50].reset_index(drop=True)), ("the rest", rest))
    return RealSet("diabetes", "target", features, reference, windows)


SETS = (seattle, cars, breast_cancer, diabetes)


def controls(reference: Any, seed: int = 0, sizes: tuple[int, ...] = CONTROL_SIZES) -> dict[int, Any]:
    """No-shift windows of ``sizes`` rows drawn from ``reference`` (with replacement when it is smaller)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return {n: reference.iloc[rng.choice(len(reference), n, replace=n > len(reference))].reset_index(drop=True)
            for n in sizes}
