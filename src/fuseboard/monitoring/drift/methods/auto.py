"""``auto``: the method for each feature, chosen at check time from its kind and the window's size.

The rules, in the spirit of Evidently's defaults (``feature_drift`` applies them; the verdict
names the method chosen, with ``chosen_by="auto"``):

=====================  ==========================  =====================================
feature                window of <= 1,000 values   window of more
=====================  ==========================  =====================================
numeric                ks (p < 0.05)               wasserstein / std (>= 0.1)
categorical, <= 2      ztest (p < 0.05)            jensenshannon (>= 0.1)
categorical, more      chisquare (p < 0.05)        jensenshannon (>= 0.1), unless noisy
=====================  ==========================  =====================================

Small windows get exact tests: a distance measured on a few hundred values is mostly sampling
noise. Large windows get distances: on thousands of values a test calls every trivial change
significant. A binary column whose window holds a value the reference never had gets chisquare
(its ztest would see only the first category's share).

"Unless noisy": a distance between two samples is not 0 when nothing changed, and with many
categories and few values its noise alone reaches the threshold. Under no shift the Jensen-Shannon
divergence is about ``chi2(k - 1) * (1 / n_ref + 1 / n_cur) / 8`` (``k`` the categories either
sample holds); when the distance at that law's 99th percentile (``js_noise``) passes half the
threshold, chisquare is taken instead. So Jensen-Shannon decides only where noise moves it by less
than about 13% of the threshold (sqrt(0.1^2 + 0.05^2) = 0.112) and a no-shift window almost never
crosses it: against a reference of 20,000, 10 categories take it from about 1,150 values in the
window, 50 from about 4,600, 200 from about 33,000. Measured (2,000 seeded no-shift windows each,
tests/unit/test_drift_auto.py), that 99th percentile is within 5% of the law for 2 to 50
categories and 10% under it for 200 categories in 1,001 values, where it is 0.19: Jensen-Shannon
at 0.1 would call every such window drifted.
"""

from __future__ import annotations

import math
from functools import lru_cache

from fuseboard.monitoring.drift.base import Method
from fuseboard.monitoring.drift.bins import aligned
from fuseboard.monitoring.drift.methods import jensenshannon
from fuseboard.monitoring.shapes import FeatureProfile, WindowFeature

SMALL_WINDOW = 1000  # values of the feature in the window: at most this many get a test
NOISE_QUANTILE = 0.99
NOISE_SHARE = 0.5  # of the threshold: Jensen-Shannon only where its noise stays under this


def js_noise(categories: int, n_reference: float, n_current: float, quantile: float = NOISE_QUANTILE) -> float:
    """The Jensen-Shannon distance two samples of one distribution stay under with probability ``quantile``.

    Parameters
    ----------
    categories : int
        Categories either sample holds (>= 1).
    n_reference, n_current : float
        Values in each sample; both > 0.
    quantile : float, default=0.99

    Returns
    -------
    distance : float
        ``sqrt(chi2.ppf(quantile, categories - 1) * (1 / n_reference + 1 / n_current) / 8)``; 0 for
        one category.
    """
    if categories < 2:
        return 0.0
    return math.sqrt(_chi2_quantile(quantile, categories - 1) * (1 / n_reference + 1 / n_current) / 8)


@lru_cache(maxsize=1024)
def _chi2_quantile(quantile: float, dof: int) -> float:
    """``scipy.stats.chi2.ppf``, remembered: a report asks for the same few thousands of times (its own
    function, ``chdtri``, without importing scipy.stats)."""
    from scipy.special import chdtri

    return float(chdtri(dof, 1 - quantile))


def choose(reference: FeatureProfile, current: WindowFeature, threshold: float | None = None) -> str:
    """The method ``auto`` takes for this feature and window (the rules in the module's docstring).

    Parameters
    ----------
    reference : NumericProfile or CategoricalProfile
    current : NumericWindow or CategoricalWindow
        Of the same kind, folded on the reference's bins.
    threshold : float, optional
        The feature's own threshold (Jensen-Shannon's default, 0.1, when None): the noise rule
        compares against it.

    Returns
    -------
    method : {"ks", "wasserstein", "ztest", "chisquare", "jensenshannon"}
    """
    rows = int(current.get("count", 0))
    small = rows <= SMALL_WINDOW
    if reference["kind"] == "numeric":
        return "ks" if small else "wasserstein"
    categories = [c for c, n in reference["value_counts"].items() if n > 0]
    unseen = current["value_counts"].get("__unseen__", 0)
    if small:
        return "ztest" if len(categories) <= 2 and not unseen else "chisquare"
    ref, cur, _ = aligned(reference, current)
    held = sum(1 for r, c in zip(ref, cur) if r + c > 0)
    limit = jensenshannon.METHOD.threshold if threshold is None else threshold
    if js_noise(held, sum(ref), sum(cur)) > NOISE_SHARE * limit:
        return "chisquare"
    return "jensenshannon"


def score(reference: FeatureProfile, current: WindowFeature) -> tuple[float, float | None]:
    """``auto`` has no score of its own: ``feature_drift`` scores with the method ``choose`` names."""
    raise ValueError("auto is resolved per feature by feature_drift (drift.methods.auto.choose)")


METHOD = Method("auto", False, False, math.nan, choose=choose)
