"""Data drift from histograms: pure functions, no database, no UI.

Every statistic here compares two histograms over the same bins: the reference data's
(stored with the model version) and the current window's (folded from inference rows).
Numeric histograms carry two open-ended bins around the reference's edges for values below
its minimum or above its maximum; categorical ones carry an ``__unseen__`` bucket for
categories the reference never had, and, for a reference with more categories than it keeps,
its ``__other__`` bucket (the values beyond the kept ones, compared by their share). Working
on histograms instead of raw rows keeps a check's cost independent of the rows ingested.

One module per method in ``methods`` (``psi``, ``ks``, ``wasserstein``, ``chisquare``, ``jensenshannon``), each
with its spec (``METHOD``) and scorer (``score``); ``registry`` names them, ``bins`` builds the
histograms they compare, ``feature`` turns a score into a verdict.

Methods and their default thresholds (all configurable per model and feature):

==============  ===========================================  ====================
method          score                                        drifted when
==============  ===========================================  ====================
psi             population stability index, open deciles     >= 0.1 (0.25 crit)
ks              Kolmogorov-Smirnov p-value (statistic kept)   < 0.05
wasserstein     Wasserstein-1 distance / reference std        >= 0.1
chisquare       chi-square homogeneity p-value (2 x k table)  < 0.05
jensenshannon   Jensen-Shannon distance (natural log)         >= 0.1
==============  ===========================================  ====================
"""

from fuseboard.monitoring.drift.base import Method
from fuseboard.monitoring.drift.bins import aligned, coarse, open_deciles, tail_area
from fuseboard.monitoring.drift.methods.chisquare import chisquare
from fuseboard.monitoring.drift.feature import (DEFAULT_DRIFT_SHARE, DEFAULT_METHOD, FeatureDrift, dataset_drift,
                                                feature_drift)
from fuseboard.monitoring.drift.methods.jensenshannon import jensenshannon
from fuseboard.monitoring.drift.methods.ks import ks_pvalue, ks_statistic
from fuseboard.monitoring.drift.methods.psi import EPS, psi
from fuseboard.monitoring.drift.registry import METHODS, register
from fuseboard.monitoring.drift.methods.wasserstein import wasserstein

__all__ = ["DEFAULT_DRIFT_SHARE", "DEFAULT_METHOD", "EPS", "METHODS", "FeatureDrift", "Method", "aligned",
           "chisquare", "coarse", "dataset_drift", "feature_drift", "jensenshannon", "ks_pvalue", "ks_statistic",
           "open_deciles", "psi", "register", "tail_area", "wasserstein"]
