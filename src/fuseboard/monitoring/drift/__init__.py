"""Data drift from histograms: pure functions, no database, no UI.

Every statistic here compares two histograms over the same bins: the reference data's
(stored with the model version) and the current window's (folded from inference rows).
Numeric histograms carry two open-ended bins around the reference's edges for values below
its minimum or above its maximum; categorical ones carry an ``__unseen__`` bucket for
categories the reference never had, and, for a reference with more categories than it keeps,
its ``__other__`` bucket (the values beyond the kept ones, compared by their share). Working
on histograms instead of raw rows keeps a check's cost independent of the rows ingested.

One module per method in ``methods`` (``psi``, ``ks``, ``wasserstein``, ``chisquare``,
``jensenshannon``, ``ztest``, and ``auto``, which picks one of them per feature and window), each
with its spec (``METHOD``) and scorer (``score``); ``registry`` names them, ``bins`` builds the
histograms they compare, ``feature`` turns a score into a verdict.

Methods and their default thresholds (all configurable per model and feature). A test (p-value)
is critical by its effect size, a distance by its score; each critical level is what a mean shift
of half a standard deviation gives (a rate moving from 30% to 55% for Cramér's V), where PSI
reaches 0.25:

==============  ===========================================  ============  ======================
method          score                                        drifted when  critical when
==============  ===========================================  ============  ======================
psi             population stability index, open deciles     >= 0.1        >= 0.25
ks              Kolmogorov-Smirnov p-value (statistic kept)   < 0.05        KS statistic >= 0.2
wasserstein     Wasserstein-1 distance / reference std        >= 0.1        >= 0.5
chisquare       chi-square homogeneity p-value (2 x k table)  < 0.05        Cramér's V >= 0.25
jensenshannon   Jensen-Shannon distance (natural log)         >= 0.1        >= 0.18
ztest           two-proportion Z-test p-value (<= 2 values)   < 0.05        Cramér's V >= 0.25
auto            one of the above per feature and window (``methods.auto``)
==============  ===========================================  ============  ======================

A drift check corrects its tests together (Benjamini-Hochberg over the window's p-values,
``correct_tests``): a test drifts when its adjusted p-value is below its threshold.
"""

from fuseboard.monitoring.drift.base import Method
from fuseboard.monitoring.drift.bins import aligned, open_deciles, tail_area
from fuseboard.monitoring.drift.feature import (DEFAULT_DRIFT_SHARE, DEFAULT_METHOD, NEW_MODEL_METHOD, FeatureDrift,
                                                benjamini_hochberg, correct_tests, dataset_drift, feature_drift,
                                                new_model_settings)
from fuseboard.monitoring.drift.methods.auto import choose, js_noise
from fuseboard.monitoring.drift.methods.chisquare import chisquare, cramers_v
from fuseboard.monitoring.drift.methods.jensenshannon import jensenshannon
from fuseboard.monitoring.drift.methods.ks import ks_pvalue, ks_statistic
from fuseboard.monitoring.drift.methods.psi import SMOOTHING, psi
from fuseboard.monitoring.drift.methods.wasserstein import wasserstein
from fuseboard.monitoring.drift.methods.ztest import ztest
from fuseboard.monitoring.drift.registry import METHODS, register

__all__ = ["DEFAULT_DRIFT_SHARE", "DEFAULT_METHOD", "METHODS", "NEW_MODEL_METHOD", "SMOOTHING", "FeatureDrift",
           "Method", "aligned", "benjamini_hochberg", "chisquare", "choose", "correct_tests", "cramers_v",
           "dataset_drift", "feature_drift", "jensenshannon", "js_noise", "ks_pvalue", "ks_statistic",
           "new_model_settings", "open_deciles", "psi", "register", "tail_area", "wasserstein", "ztest"]
