"""The real-data cases of ``real_data.py``: data that ships inside installed packages, in time order.

No download at run time: ``vega_datasets``' local sets (``local_data``, files inside the package) and
scikit-learn's bundled sets (``load_*``, never ``fetch_*``).

* ``seattle-temp`` (regression): Seattle's daily weather 2012-2015 (``seattle-weather``, 1,461 days).
  The model predicts the day's ``temp_max`` from ``precipitation`` (zero on 55% of the days),
  ``temp_min``, ``wind``, ``weather`` (a category: rain, sun, fog, drizzle, snow) and ``rained``
  (a 0/1 integer flag: precipitation above 0). Reference: 2012-2013; windows: each quarter of
  2014-2015 (about 90 days each), whose seasons differ from the whole year the reference covers.
* ``cars-origin`` (classification): the cars data set (``cars``, model years 1970-1982, 392 cars with
  every value). The model tells a car's ``Origin`` (USA, Europe, Japan) from its miles per gallon,
  cylinders (an integer with five values), displacement, horsepower, weight and acceleration.
  Reference: model years 1970-1976; windows: 1977-78, 1979-80 and 1982, as cars got lighter and
  thriftier after the oil crises.
* ``diabetes`` (regression): scikit-learn's diabetes set, unscaled (442 patients; ``sex`` is 1 or 2).
  No time in it: the reference is a seeded 60%, the windows the rest by age (50+, under 50).

Each case also has no-shift control windows drawn from its reference (500 and 2,000 rows unless
asked otherwise), without replacement when the reference has that many rows, with replacement
otherwise.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

CONTROL_SIZES = (500, 2000)
CONTROL_START = datetime(2030, 1, 1, tzinfo=timezone.utc)  # controls' rows are ingested after every real window


@dataclass
class Window:
    """One window of a case: its rows, and the period its rows are ingested in (``[start, end)``, UTC)."""

    label: str
    frame: Any  # pandas.DataFrame: the case's features and target
    start: datetime
    end: datetime
    control: bool = False
    times: Any = None  # pandas.Series of UTC timestamps, one per row, inside [start, end)


@dataclass
class Case:
    """A model and its data: what it learns from (``reference``), and the windows it is checked on."""

    name: str
    task: str  # "regression" or "classification"
    target: str
    features: list[str]
    categorical: list[str]  # features that are text (the others are numbers)
    reference: Any  # pandas.DataFrame
    windows: list[Window] = field(default_factory=list)
    make_model: Callable[[], Any] | None = None
    about: str = ""


def _spread(start: datetime, end: datetime, n: int) -> Any:
    """n timestamps evenly spread over [start, end)."""
    import pandas as pd

    step = (end - start) / max(n, 1)
    return pd.Series([start + step * i for i in range(n)])


def add_controls(case: Case, seed: int, sizes: tuple[int, ...] = CONTROL_SIZES) -> None:
    """The no-shift controls: rows drawn from the reference (with replacement only when it is smaller)."""
    import numpy as np

    rng = np.random.default_rng([seed, len(case.name)])
    for i, n in enumerate(sizes):
        replace = n > len(case.reference)
        rows = rng.choice(len(case.reference), size=n, replace=replace)
        frame = case.reference.iloc[rows].reset_index(drop=True)
        start = CONTROL_START + timedelta(days=30 * i)
        end = start + timedelta(days=7)
        how = "with replacement" if replace else "without replacement"
        case.windows.append(Window(f"control {n} ({how})", frame, start, end, control=True,
                                   times=_spread(start, end, n)))


def seattle_temp(seed: int = 0, controls: tuple[int, ...] = CONTROL_SIZES) -> Case:
    """Regression: a day's maximum temperature in Seattle; windows are the quarters of 2014-2015."""
    import pandas as pd
    from vega_datasets import local_data

    with warnings.catch_warnings():  # vega_datasets reads its files with an option pandas 3 deprecates
        warnings.simplefilter("ignore")
        data = local_data.seattle_weather()
    data["weather"] = data["weather"].astype(str)
    data["rained"] = (data["precipitation"] > 0).astype("int64")
    features = ["precipitation", "temp_min", "wind", "weather", "rained"]
    columns = [*features, "temp_max"]
    when = pd.to_datetime(data["date"])
    reference = data.loc[when.dt.year <= 2013, columns].reset_index(drop=True)
    case = Case("seattle-temp", "regression", "temp_max", features, ["weather"], reference,
                make_model=_ridge(["weather"]),
                about="Seattle daily weather (vega_datasets seattle-weather): temp_max from the rest; "
                      "reference 2012-2013, windows per quarter of 2014-2015")
    for year in (2014, 2015):
        for q in range(4):
            start = datetime(year, 3 * q + 1, 1, tzinfo=timezone.utc)
            end = datetime(year + (q == 3), (3 * q + 3) % 12 + 1, 1, tzinfo=timezone.utc)
            rows = (when >= start.replace(tzinfo=None)) & (when < end.replace(tzinfo=None))
            frame = data.loc[rows, columns].reset_index(drop=True)
            times = pd.Series(when[rows].reset_index(drop=True).dt.tz_localize("UTC") + pd.Timedelta(hours=12))
            case.windows.append(Window(f"{year} Q{q + 1}", frame, start, end, times=times))
    add_controls(case, seed, controls)
    return case


def cars_origin(seed: int = 0, controls: tuple[int, ...] = CONTROL_SIZES) -> Case:
    """Classification: a car's origin from its specifications; windows are later model years."""
    import pandas as pd
    from vega_datasets import local_data

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = local_data.cars().dropna(subset=["Miles_per_Gallon", "Horsepower"]).reset_index(drop=True)
    data["Origin"] = data["Origin"].astype(str)
    features = ["Miles_per_Gallon", "Cylinders", "Displacement", "Horsepower", "Weight_in_lbs", "Acceleration"]
    columns = [*features, "Origin"]
    year = pd.to_datetime(data["Year"]).dt.year
    reference = data.loc[year <= 1976, columns].reset_index(drop=True)
    case = Case("cars-origin", "classification", "Origin", features, [], reference, make_model=_forest,
                about="cars (vega_datasets cars): Origin from the specifications; reference model years "
                      "1970-1976, windows 1977-78, 1979-80, 1982")
    for first, last in ((1977, 1978), (1979, 1980), (1981, 1982)):
        rows = (year >= first) & (year <= last)
        frame = data.loc[rows, columns].reset_index(drop=True)
        start = datetime(first, 1, 1, tzinfo=timezone.utc)
        end = datetime(last + 1, 1, 1, tzinfo=timezone.utc)
        label = f"{first}-{str(last)[2:]}" if first < 1981 else "1982"  # the data set has no 1981 cars
        case.windows.append(Window(label, frame, start, end, times=_spread(start, end, len(frame))))
    add_controls(case, seed, controls)
    return case


def diabetes_progression(seed: int = 0, controls: tuple[int, ...] = CONTROL_SIZES) -> Case:
    """Regression: diabetes progression a year on (scikit-learn's bundled set, unscaled: ``sex`` is 1 or 2).

    The data has no time: a seeded 60% of the patients is the reference, and the windows are the rest
    cut by age (50 and older, under 50), a shift in who is treated. Their rows are ingested in periods
    of their own (2031 onwards).
    """
    import numpy as np
    from sklearn.datasets import load_diabetes

    data = load_diabetes(as_frame=True, scaled=False).frame
    features = [c for c in data.columns if c != "target"]
    order = np.random.default_rng(0).permutation(len(data))
    cut = int(0.6 * len(data))
    reference = data.iloc[order[:cut]].reset_index(drop=True)
    rest = data.iloc[order[cut:]].reset_index(drop=True)
    case = Case("diabetes", "regression", "target", features, [], reference, make_model=_ridge([]),
                about="diabetes (scikit-learn, unscaled): progression from age, sex (1/2), bmi, bp, s1-s6; "
                      "reference a seeded 60%, windows the rest by age")
    for i, (label, rows) in enumerate((("age 50+", rest["age"] >= 50), ("age < 50", rest["age"] < 50))):
        frame = rest[rows].reset_index(drop=True)
        start = datetime(2031 + i, 1, 1, tzinfo=timezone.utc)
        end = start + timedelta(days=30)
        case.windows.append(Window(label, frame, start, end, times=_spread(start, end, len(frame))))
    add_controls(case, seed, controls)
    return case


def _ridge(categorical: list[str]) -> Callable[[], Any]:
    def make() -> Any:
        from sklearn.compose import make_column_transformer
        from sklearn.linear_model import Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder

        if not categorical:
            return Ridge()
        encode = make_column_transformer((OneHotEncoder(handle_unknown="ignore"), categorical),
                                         remainder="passthrough")
        return make_pipeline(encode, Ridge())
    return make


def _forest() -> Any:
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=100, max_depth=6, random_state=0)


CASES: dict[str, Callable[[int, tuple[int, ...]], Case]] = {"seattle-temp": seattle_temp, "cars-origin": cars_origin,
                                           "diabetes": diabetes_progression}


def build(names: list[str] | None = None, seed: int = 0, controls: tuple[int, ...] = CONTROL_SIZES) -> list[Case]:
    """The cases named (all by default), each with its model's factory, its windows and controls of
    ``controls`` rows."""
    return [CASES[name](seed, controls) for name in (names or list(CASES))]
