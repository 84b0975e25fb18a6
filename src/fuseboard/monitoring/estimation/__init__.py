"""Watching a model before its labels arrive: estimated performance and multivariate drift.

* ``cbpe``: a classifier's confusion matrix expected from its calibrated scores;
* ``dle``: a regressor's errors predicted by loss models;
* ``pca``: how far rows lie from their reconstruction by a PCA of the reference;
* ``encoding``: features as the PCA and the loss models read them;
* ``sampling``: the spread of a metric on n rows, from chunks of labelled rows;
* ``verdicts``: the ``estimated_performance`` and ``multivariate_drift`` checks;
* ``fold``: all of it folded into ingested windows.

What a version keeps for these is its reference profile's ``estimation`` (``shapes.Estimation``),
fitted at registration (``ops.estimators``).
"""
